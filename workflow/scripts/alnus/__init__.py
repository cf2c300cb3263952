"""ALN-US: the library behind the axillary lymph node metastasis study pipeline.

Each module does one job and works on plain objects (numpy arrays, pandas
DataFrames, torch tensors); the Snakemake entry scripts in ``workflow/scripts``
only read their inputs and call one function from here. A map, in the order
the workflow runs (each module's docstring says more):

- Names and checks: ``vocabulary`` (cohorts, sets, models and their printed
  names), ``checks`` (one wording for "must be one of"), ``start_up`` (the
  parse-time check that the inputs exist), ``presets`` (the training preset
  and ``TrainSettings``), ``logs``.
- Inputs: ``manifest`` (the manifests and readers' calls), ``validate`` (rule
  validate_inputs), ``clinical`` (clinical variables), ``imageio/`` (reading
  PNG, JPEG, BMP and DICOM; writing PNG), ``busbra`` (the public BUS-BRA set),
  ``simulate/`` (the demo's simulated hospitals).
- Preprocessing and privacy: ``crop``, ``annotations/`` (burned-in text,
  calipers and lines), ``preprocess``, ``pseudonym``, ``duplicates``,
  ``ocr_engine``, ``ocr_audit``, ``residual_text``, ``phi_audit/``.
- Split and training: ``split``, ``folds`` (cross-validation), ``data``
  (images as network inputs), ``models`` (the timm registry), ``devices``
  (device, precision, determinism), ``hardware`` (processor detection),
  ``train`` (the training loop), ``checkpoints``, ``history``, ``study``
  (the train and predict jobs), ``card_json`` (model_card.json).
- Statistics: ``stats/`` (proportion and AUC intervals and tests; the entry
  points DESIGN.md fixes), ``clustered`` (several images per patient),
  ``bootstrap`` (the patient bootstrap), ``patients`` (the unit of analysis),
  ``predictions``, ``reader_calls``, ``thresholds``, ``merit``,
  ``study_inputs``, ``metrics`` (metrics.csv), ``comparisons``, ``mrmc`` and
  ``reader_study`` (models against the average radiologist), ``readers``,
  ``calibration``, ``logistic`` and ``combined`` (network with clinical
  variables), ``nomogram``.
- Reporting: ``figures/`` (one module per kind of figure), ``style``,
  ``tables`` (Table 2), ``study_tables`` (cohorts, training history),
  ``heatmaps`` and ``cam`` (Grad-CAM), ``model_cards``, ``run_facts``,
  ``checklists`` (CLAIM, TRIPOD+AI), ``documents``, ``versions``.
"""

__version__ = "0.1.0"
