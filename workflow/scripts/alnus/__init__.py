"""ALN-US: the library behind the axillary lymph node metastasis study pipeline.

Each module does one job and works on plain objects (numpy arrays, pandas
DataFrames, torch tensors); the Snakemake entry scripts in ``workflow/scripts``
only read their inputs and call one function from here.
"""

__version__ = "0.1.0"
