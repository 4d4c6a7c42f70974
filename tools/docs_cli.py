"""The command-line reference of the documentation site, generated from the parser at every build.

One page per command (``reference/cli/<command>.md``: its description, usage and every option with its help, as
``liqcore COMMAND --help`` prints them), an overview (``reference/cli/index.md``) and one page per *shared*
parameter group (``reference/cli/groups/<group>.md``): an argument group that two or more commands carry with the
same options, help and defaults (the detector, strategy, execution and risk parameters, the time filter, ...) is
described once on its own page; each command's page names its options and links there.
"""
from __future__ import annotations

import argparse
import html
import re
from dataclasses import dataclass, field

ROOT_DIR = "reference/cli"


def subparsers(p: argparse.ArgumentParser):
    for a in p._actions:  # argparse keeps its actions here; there is no public accessor
        if isinstance(a, argparse._SubParsersAction):
            return a
    return None


def _usage(p: argparse.ArgumentParser) -> str:
    return " ".join(p.format_usage().split())[len("usage: "):]


def _shown(actions) -> list[argparse.Action]:
    return [a for a in actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
            and a.help != argparse.SUPPRESS]


#: a Sphinx role (``:mod:`x```): shown as the plain name
_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj|const):`~?([^`]*)`")


def plain(text: str) -> str:
    return _ROLE.sub(r"\1", text)


def _help(a: argparse.Action) -> str:
    helptext = plain(a.help or "").replace("%(default)s", str(a.default)).replace("%%", "%")
    if a.choices and not isinstance(a.choices, dict) and len(a.choices) <= 40:
        helptext += " Choices: " + ", ".join(f"`{c}`" for c in a.choices) + "."
    if a.option_strings and a.default not in (None, False, argparse.SUPPRESS, [], "") and a.nargs != 0 \
            and "default" not in helptext.lower():
        helptext += f" Default: `{a.default}`."
    return " ".join(helptext.split())


def _names(a: argparse.Action) -> str:
    if a.option_strings:
        return ", ".join(f"`{o}`" + (f" `{a.metavar or a.dest.upper()}`" if a.nargs != 0 else "")
                         for o in a.option_strings)
    return f"`{a.metavar or a.dest}`"


def option_table(actions) -> list[str]:
    """A Markdown table, one row per option: its names and value, and its help."""
    rows = ["| option | meaning |", "| --- | --- |"]
    for a in actions:
        cell = html.escape(_help(a)).replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")
        rows.append(f"| {_names(a)} | {cell} |")
    return rows + [""]


def _signature(actions) -> tuple:
    return tuple((tuple(a.option_strings), a.dest, a.help, repr(a.default), a.nargs, repr(a.choices), a.metavar)
                 for a in actions)


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower().split("(")[0]).strip("-") or "group"


@dataclass
class Group:
    """A parameter group two or more commands share (same options, help and defaults)."""
    title: str
    page: str                      # its path under ROOT_DIR
    actions: list = field(default_factory=list)
    users: list = field(default_factory=list)  # the commands ("liqcore backtest", ...) that carry it


class CliReference:
    """The pages of the command-line reference: ``pages()`` maps each path (relative to the docs) to Markdown."""

    def __init__(self, parser: argparse.ArgumentParser, order):
        self.parser = parser
        sub = subparsers(parser)
        self.commands = {name: sub.choices[name] for name in order if name in sub.choices}
        self.helps = {c.dest: c.help or "" for c in sub._choices_actions}
        self.groups = self._shared_groups()

    # ---- shared groups
    def _all_parsers(self):
        def walk(p, title):
            yield p, title
            s = subparsers(p)
            if s is not None:
                for n, c in s.choices.items():
                    yield from walk(c, f"{title} {n}")
        for name, p in self.commands.items():
            yield from walk(p, f"liqcore {name}")

    def _shared_groups(self) -> dict:
        seen: dict = {}
        for p, title in self._all_parsers():
            for g in p._action_groups:
                acts = _shown(g._group_actions)
                if not acts or g.title in ("options", "positional arguments"):
                    continue
                key = (g.title, _signature(acts))
                seen.setdefault(key, Group(g.title, "", acts)).users.append(title)
        shared = {k: g for k, g in seen.items() if len(g.users) >= 2}
        used: dict = {}
        for g in shared.values():
            base = slug(g.title)
            used[base] = used.get(base, 0) + 1
            g.page = f"groups/{base}.md" if used[base] == 1 else f"groups/{base}-{used[base]}.md"
        return shared

    def _group_of(self, g) -> Group | None:
        acts = _shown(g._group_actions)
        return self.groups.get((g.title, _signature(acts))) if acts else None

    # ---- pages
    def _section(self, p: argparse.ArgumentParser, title: str, level: int, out: list, here: str) -> None:
        out.append(f"{'#' * level} `{title}`\n")
        if p.description:
            out.append("```text\n" + plain(p.description.strip()) + "\n```\n")
        out.append("```text\n" + _usage(p) + "\n```\n")
        h = min(level + 1, 4)
        for g in p._action_groups:
            acts = _shown(g._group_actions)
            if not acts:
                continue
            shared = self._group_of(g)
            out.append(f"{'#' * h} {html.escape(g.title[0].upper() + g.title[1:])}\n")
            if shared is not None:
                link = _rel(here, shared.page)
                out.append(f"Shared with {len(shared.users) - 1} other command(s); each option's meaning, default and "
                           f"unit: [{html.escape(shared.title)}]({link}).\n")
                out.append(", ".join(f"[`{a.option_strings[0] if a.option_strings else a.dest}`]({link}#{_anchor(a)})"
                                     for a in acts) + "\n")
            else:
                out.extend(option_table(acts))
        s = subparsers(p)
        if s is not None:
            for name, child in s.choices.items():
                self._section(child, f"{title} {name}", min(level + 1, 4), out, here)

    def command_page(self, name: str) -> str:
        here = f"{name}.md"
        out = [f"# `liqcore {name}`\n", html.escape(self.helps.get(name, "")) + ".\n" if self.helps.get(name) else "",
               "Generated from the parser: every option as `liqcore " + name + " --help` prints it. "
               "[All commands](index.md).\n"]
        p = self.commands[name]
        body: list = []
        self._section(p, f"liqcore {name}", 2, body, here)
        return "\n".join(out + body[1:]) + "\n"  # (the page's title is its first heading)

    def group_page(self, g: Group) -> str:
        users = ", ".join(f"[`{u}`]({_rel(g.page, u.split()[1] + '.md')})" for u in g.users)
        out = [f"# {html.escape(g.title[0].upper() + g.title[1:])}\n",
               f"A group of options shared by {users}: the same names, meanings and defaults for each. "
               "Generated from the parser. [All commands](../index.md).\n"]
        for a in g.actions:
            out.append(f"## `{a.option_strings[0] if a.option_strings else a.dest}` {{ #{_anchor(a)} }}\n")
            out.append(f"{_names(a)}: {html.escape(_help(a)).replace('[', chr(92) + '[')}\n")
        return "\n".join(out) + "\n"

    def index_page(self) -> str:
        out = ["# Command-line reference\n",
               "Generated from the parser at every build of this site: one page per command with every option, "
               "as `liqcore COMMAND --help` prints it. A group of options that several commands share (the "
               "detector, strategy, execution and risk parameters, ...) has a page of its own, linked from each "
               "command's page. What each command is for, with examples: [the commands, one by one](../commands.md).\n",
               "## Commands\n", "| command | what it does |", "| --- | --- |"]
        for name in self.commands:
            out.append(f"| [`liqcore {name}`]({name}.md) | {html.escape(self.helps.get(name, ''))} |")
        out += ["", "## Shared parameter groups\n", "| group | options | used by |", "| --- | --- | --- |"]
        for g in sorted(self.groups.values(), key=lambda g: g.page):
            users = ", ".join(f"`{u.split(' ', 1)[1]}`" for u in g.users)
            out.append(f"| [{html.escape(g.title)}]({g.page}) | {len(g.actions)} | {users} |")
        return "\n".join(out) + "\n"

    def pages(self) -> dict[str, str]:
        out = {f"{ROOT_DIR}/index.md": self.index_page()}
        for name in self.commands:
            out[f"{ROOT_DIR}/{name}.md"] = self.command_page(name)
        for g in self.groups.values():
            out[f"{ROOT_DIR}/{g.page}"] = self.group_page(g)
        return out

    def nav(self) -> list:
        """The reference's entries for the site's navigation."""
        return [{"Overview": f"{ROOT_DIR}/index.md"},
                {"Commands": [{f"liqcore {n}": f"{ROOT_DIR}/{n}.md"} for n in self.commands]},
                {"Shared parameter groups": [{g.title: f"{ROOT_DIR}/{g.page}"}
                                             for g in sorted(self.groups.values(), key=lambda g: g.page)]}]


def _anchor(a: argparse.Action) -> str:
    name = a.option_strings[0] if a.option_strings else a.dest
    return "opt-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _rel(here: str, target: str) -> str:
    """``target`` (a path under ROOT_DIR) as a link from the page ``here`` (also under ROOT_DIR)."""
    depth = here.count("/")
    return "../" * depth + target


def cli_reference() -> CliReference:
    from liqcore.cli import COMMANDS, build_parser

    return CliReference(build_parser(), COMMANDS)
