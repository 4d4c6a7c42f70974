"""The command line as a user meets it across commands (liqcore.cli, liqcore.commands, interrupt, atomic
outputs); a test of one command's domain goes with that domain."""
