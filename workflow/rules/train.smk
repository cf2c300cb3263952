# One training job per architecture (and per further seed, training.seeds, or
# per fold, split.folds), then its predictions on every evaluation set. `model`
# is {arch} or {arch}/seed-{n}, or with folds {arch}/fold-{k}, which rule
# fold_ensemble combines into the architecture's predictions and card. Training
# and prediction read the cohorts' images from caches made once per input size.


rule cache_images:
    input:
        manifest="results/preprocessed/{cohort}/manifest.csv",
        images="results/preprocessed/{cohort}/images",
    output:
        "results/cache/{cohort}_{size}px.npy",
    log:
        "logs/cache_images/{cohort}_{size}px.log",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=scaled_mem(2000),
        runtime=30,
    params:
        size=size_of,
    script:
        "../scripts/cache_images.py"


localrules:
    fetch_weights,


rule fetch_weights:
    output:
        "resources/weights/{arch}.safetensors",
    log:
        "logs/fetch_weights/{arch}.log",
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/fetch_weights.py"


rule train:
    input:
        splits="results/splits.csv",
        manifests=list(preprocessed("manifest").values()),
        caches=image_caches,
        pretrained=pretrained_input,
    output:
        weights="results/models/{model}/model.safetensors",
        card="results/models/{model}/model_card.json",
        history=report(
            "results/models/{model}/history.tsv",
            caption="../report/history.rst",
            category="Training",
            labels={"model": "{model}"},
        ),
    log:
        "logs/train/{model}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=scaled_mem(12000),
        runtime=24 * 60,
        gpu=0 if config["training"]["device"] == "cpu" else 1,
    params:
        arch=arch_of,
        seed=seed_of,
        fold=fold_param,
        pretrained=pretrained_param,
        # Every setting the model depends on (device, precision, preset, ...),
        # recorded in its model card; changing any of them retrains it.
        config=training_config(),
    script:
        "../scripts/train.py"


rule predict:
    input:
        weights="results/models/{model}/model.safetensors",
        card="results/models/{model}/model_card.json",
        splits="results/splits.csv",
        manifests=list(preprocessed("manifest").values()),
        caches=image_caches,
    output:
        **{set_name: f"results/predictions/{{model}}/{set_name}.csv" for set_name in PREDICTION_SETS},
    log:
        "logs/predict/{model}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 4
    resources:
        mem_mb=scaled_mem(8000),
        runtime=60,
    params:
        arch=arch_of,
        device=config["training"]["device"],
        precision=config["training"]["precision"],
        flip_tta=config["training"]["flip_tta"],
        fold=fold_param,
    script:
        "../scripts/predict.py"


if FOLDS:

    localrules:
        fold_ensemble,

    rule fold_ensemble:
        input:
            unpack(fold_ensemble_inputs),
        output:
            **{set_name: f"results/predictions/{{arch}}/{set_name}.csv" for set_name in PREDICTION_SETS},
            card="results/models/{arch}/model_card.json",
        log:
            "logs/fold_ensemble/{arch}.log",
        conda:
            "../../envs/data.yaml"
        params:
            folds=FOLDS,
        script:
            "../scripts/fold_ensemble.py"
