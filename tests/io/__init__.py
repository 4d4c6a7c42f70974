"""Reading and writing recordings: formats, detection, datasets, the bundled sample, damaged and implausible
input (liqcore.io, liqcore.dataset, liqcore.data, liqcore.validate)."""
