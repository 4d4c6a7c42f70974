"""Run at the start of every Python process the tests start (this folder is on their ``PYTHONPATH``):
the loopback guard of :mod:`loopback_only`."""
import loopback_only

loopback_only.install()
