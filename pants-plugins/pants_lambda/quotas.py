"""Lambda's quotas on what a deployment package holds (AWS's "Lambda quotas" page).

Plain values, for the fields that check them and for the packaging checks (checks/limits.py).
"""

# A ZIP uploaded directly (Terraform's `filename`, `UpdateFunctionCode`'s `ZipFile`).
DIRECT_UPLOAD_LIMIT = 52_428_800
# A function and all its layers, unzipped.
UNZIPPED_LIMIT = 262_144_000
# Layers of one function.
MAX_LAYERS = 5
