"""MkDocs hooks of liqcore's documentation site (``mkdocs.yml``: ``hooks: [tools/docs_hooks.py]``).

The command-line reference is generated from the parser itself at every build (``reference/cli.md``): every
command, its sub-commands and every option with its help, exactly as ``liqcore COMMAND --help`` has them, so the
reference cannot drift from the code.
"""
from __future__ import annotations

import argparse
import html

from mkdocs.structure.files import File

CLI_PAGE = "reference/cli.md"


def _subparsers(p: argparse.ArgumentParser):
    for a in p._actions:  # argparse keeps its actions here; there is no public accessor
        if isinstance(a, argparse._SubParsersAction):
            return a
    return None


def _usage(p: argparse.ArgumentParser) -> str:
    return " ".join(p.format_usage().split())[len("usage: "):]


def _option_rows(p: argparse.ArgumentParser) -> list[str]:
    rows = []
    for a in p._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) or a.help == argparse.SUPPRESS:
            continue
        if a.option_strings:
            names = ", ".join(f"`{o}`" + (f" `{a.metavar or a.dest.upper()}`" if a.nargs != 0 else "")
                              for o in a.option_strings)
        else:
            names = f"`{a.metavar or a.dest}`"
        helptext = (a.help or "").replace("%(default)s", str(a.default)).replace("%%", "%")
        if a.choices and not isinstance(a.choices, dict) and len(a.choices) <= 40:
            helptext += " Choices: " + ", ".join(f"`{c}`" for c in a.choices) + "."
        if a.option_strings and a.default not in (None, False, argparse.SUPPRESS, [], "") and a.nargs != 0 \
                and "default" not in helptext.lower():
            helptext += f" Default: `{a.default}`."
        cell = html.escape(" ".join(helptext.split())).replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")
        rows.append(f"| {names} | {cell} |")
    return rows


def _section(p: argparse.ArgumentParser, title: str, level: int, out: list[str]) -> None:
    out.append(f"{'#' * level} `{title}`\n")
    if p.description:
        out.append("```text\n" + p.description.strip() + "\n```\n")
    out.append("```text\n" + _usage(p) + "\n```\n")
    rows = _option_rows(p)
    if rows:
        out.append("| option | meaning |\n| --- | --- |")
        out.extend(rows)
        out.append("")
    sub = _subparsers(p)
    if sub is not None:
        for name, child in sub.choices.items():
            _section(child, f"{title} {name}", min(level + 1, 4), out)


def cli_reference() -> str:
    """The command-line reference page as Markdown, from :func:`liqcore.cli.build_parser`."""
    from liqcore.cli import COMMANDS, build_parser

    parser = build_parser()
    out = ["# Command-line reference\n",
           "Generated from the parser at every build of this site: every command and every option, as "
           "`liqcore COMMAND --help` prints them.\n"]
    sub = _subparsers(parser)
    out.append("| command | what it does |\n| --- | --- |")
    for name in COMMANDS:
        if name in sub.choices:
            helptext = next((c.help for c in sub._choices_actions if c.dest == name), "") or ""
            out.append(f"| [`liqcore {name}`](#liqcore-{name.replace(' ', '-')}) | {html.escape(helptext)} |")
    out.append("")
    for name in COMMANDS:
        if name in sub.choices:
            _section(sub.choices[name], f"liqcore {name}", 2, out)
    return "\n".join(out) + "\n"


def on_files(files, config):
    files.append(File.generated(config, CLI_PAGE, content=cli_reference()))
    return files
