"""The parameter vocabulary and its validation (liqcore.config), credentials (liqcore.secrets)."""
