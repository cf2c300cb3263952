# The embedded demo study: a simulated hospital export (two sites, readers).


rule simulate_demo:
    output:
        development_manifest=f"{DEMO_DIR}/development/manifest.csv",
        development_images=directory(f"{DEMO_DIR}/development/images"),
        external_manifest=f"{DEMO_DIR}/external/manifest.csv",
        external_images=directory(f"{DEMO_DIR}/external/images"),
        readers=f"{DEMO_DIR}/readers.csv",
        phi=f"{DEMO_DIR}/phi.json",
    log:
        "logs/simulate_demo.log",
    conda:
        "../../envs/data.yaml"
    params:
        seed=config["seed"],
        n_development=config["demo"]["n_development"],
        n_external=config["demo"]["n_external"],
    script:
        "../scripts/simulate_demo.py"
