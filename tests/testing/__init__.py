"""The fake exchanges and the recording replay used by the other tests (liqcore.testing)."""
