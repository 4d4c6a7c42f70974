"""Feature store, studies, research bars and the leak audit (liqcore.research)."""
