"""The live shell: engine, gateways, journal, recorder, runner, transport, shutdown and recovery (liqcore.live)."""
