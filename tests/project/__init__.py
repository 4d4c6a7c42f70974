"""Properties of the whole repository: import layering, a light ``import liqcore``, the README run as written,
the test session's own environment."""
