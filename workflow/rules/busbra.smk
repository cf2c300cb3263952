# The public BUS-BRA dataset as the study's two cohorts (config/bus-bra.yaml).
# Runs only when the config's cohorts point at resources/bus-bra/.


rule convert_busbra:
    output:
        development_manifest="resources/bus-bra/development/manifest.csv",
        development_images=directory("resources/bus-bra/development/images"),
        external_manifest="resources/bus-bra/external/manifest.csv",
        external_images=directory("resources/bus-bra/external/images"),
    log:
        "logs/convert_busbra.log",
    conda:
        "../../envs/data.yaml"
    params:
        bus_bra_dir=config["bus_bra_dir"],
    script:
        "../scripts/busbra.py"
