"""Pictures of a route: Mermaid and Graphviz DOT text, and SVG or PNG through the dot program."""

from __future__ import annotations

import shutil
import subprocess

from crmcms.dsl.rules.titles import is_condition_rule
from crmcms.dsl.rules.unparse import format_duration_literal
from crmcms.errors import ConfigurationError, InvalidValueError
from crmcms.model import Catalog, Process, QueuePolicy, Route, Transition

__all__ = ["dot_available", "render_dot", "route_dot", "route_mermaid"]


def _condition(catalog: Catalog, transition: Transition) -> str:
    if transition.rule is None:
        return ""
    rule = catalog.rule(transition.rule)
    if is_condition_rule(transition.rule):
        return f"when {rule.expression}"
    return f"when {rule.code}: {rule.expression}"


def _queues(catalog: Catalog, process: Process) -> str:
    if process.final:
        return ""
    if process.queue_policy is QueuePolicy.KEEP:
        return "queue: kept"
    if process.queues:
        queues = [catalog.queue(c) for c in process.queues]
    else:
        queues = [q for q in catalog.queues if q.active and q.allows_process(process.code)]
    shown = [
        q.code if q.rule is None or is_condition_rule(q.rule) else f"{q.code} ({q.rule})"
        for q in queues
    ]
    return "queues: " + (", ".join(shown) if shown else "none")


def _labels(catalog: Catalog, route: Route) -> dict[str, list[str]]:
    labels = {}
    for p in route.processes:
        lines = [p.name or p.code]
        queues = _queues(catalog, p)
        if queues:
            lines.append(queues)
        if p.deadline is not None:
            lines.append(f"deadline {format_duration_literal(p.deadline.limit)}")
        labels[p.code] = lines
    return labels


def _node_id(code: str) -> str:
    return "p_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in code)


def route_mermaid(catalog: Catalog, code: str, version: int | None = None) -> str:
    """A Mermaid flowchart of the route: processes (with queues), transitions, conditions."""
    route = catalog.route(code, version)

    def text(lines: list[str]) -> str:
        joined = "<br/>".join(lines)
        return '"' + joined.replace('"', "#quot;") + '"'

    out = ["flowchart LR", f"    %% route {route.code} version {route.version}: {route.name}"]
    out.append("    start(( ))")
    for p in route.processes:
        label = text(_labels(catalog, route)[p.code])
        shape = f"((({label})))" if p.final else f"([{label}])"
        out.append(f"    {_node_id(p.code)}{shape}")
    out.append(f"    start --> {_node_id(route.initial)}")
    for t in route.transitions:
        lines = [t.name or t.code]
        condition = _condition(catalog, t)
        if condition:
            lines.append(condition)
        if t.automatic:
            lines.append("automatic")
        arrow = "-.->" if t.automatic else "-->"
        out.append(f"    {_node_id(t.source)} {arrow}|{text(lines)}| {_node_id(t.target)}")
    return "\n".join(out) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def route_dot(catalog: Catalog, code: str, version: int | None = None) -> str:
    """A Graphviz digraph of the route, the same content as :func:`route_mermaid`."""
    route = catalog.route(code, version)
    title = f"{route.code} v{route.version}: {route.name}"
    out = [
        f"digraph {_dot_quote(route.code)} {{",
        "    rankdir=LR;",
        f"    label={_dot_quote(title)};",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        "    start [shape=point, width=0.2];",
    ]
    labels = _labels(catalog, route)
    for p in route.processes:
        shape = ", shape=doublecircle" if p.final else ""
        label = _dot_quote("\n".join(labels[p.code]))
        out.append(f"    {_node_id(p.code)} [label={label}{shape}];")
    out.append(f"    start -> {_node_id(route.initial)};")
    for t in route.transitions:
        lines = [t.name or t.code]
        condition = _condition(catalog, t)
        if condition:
            lines.append(condition)
        style = ", style=dashed" if t.automatic else ""
        label = _dot_quote("\n".join(lines))
        out.append(f"    {_node_id(t.source)} -> {_node_id(t.target)} [label={label}{style}];")
    out.append("}")
    return "\n".join(out) + "\n"


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH (Debian package ``graphviz``)."""
    return shutil.which("dot") is not None


def render_dot(source: str, fmt: str = "svg") -> bytes:
    """The picture of DOT ``source`` as ``svg`` or ``png`` bytes, drawn by ``dot``."""
    if fmt not in ("svg", "png"):
        raise InvalidValueError(f"format must be svg or png, not {fmt!r}")
    program = shutil.which("dot")
    if program is None:
        raise ConfigurationError("drawing needs Graphviz's dot program (apt-get install graphviz)")
    done = subprocess.run(  # a fixed program; the text goes to its stdin
        [program, f"-T{fmt}"], input=source.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise ConfigurationError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
