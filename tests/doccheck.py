"""Check the commands shown in the documentation against the real CLI and the checkout.

    python -m tests.doccheck [FILE ...]    print every problem found, without running anything

Used by tests/test_docs.py, which also runs the runnable commands. The conventions it enforces
are described in CONTRIBUTING.md ("Documentation"):

- shell commands live in ```bash (or sh, shell) blocks; each logical line (`\\` continuations
  joined, heredoc bodies attached) is one command;
- every command is resolved: `evoforge …` through the CLI's own click parser (subcommand,
  options, argument values) without running it; `python -m X` / `python file.py` / scripts: the
  module or file exists and every `--option` shown appears in its source; pytest: the test files
  exist; any path under a checkout folder exists; `evoforge …` spans in prose are resolved too;
- a line with a placeholder (`ID`, `RUN_ID`, `[--json]`, `a|b`, `…`, `<id>`) is a synopsis:
  resolved leniently (command and option names), never run;
- a trailing comment starting with tags (`# [slow]`, `# [gpu] [external] …`) says why a line is
  not run by default (TAGS below);
- relative links and their #anchors point at files and headings that exist; `python` blocks'
  import lines import; `yaml` blocks parse (and a model-client config block loads).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TAGS = {
    "slow": "takes minutes: run only by the slow doc test (pytest -m slow tests/test_docs.py)",
    "gpu": "needs a CUDA GPU: resolved, not run",
    "docker": "needs a Docker engine: run when one answers",
    "external": "needs something evoforge does not ship (a model endpoint or key, MLE-bench data): resolved, not run",
    "manual": "changes the machine or the checkout, or runs the test suite: resolved, not run",
}
SHELL_LANGS = {"bash", "sh", "shell"}
# Programs the docs may use without a check beyond the paths they name.
EXTERNAL = {
    ".", "source", "cd", "cp", "mv", "rm", "mkdir", "ls", "cat", "head", "tail", "grep", "sed", "awk", "echo",
    "printf", "export", "unset", "set", "sleep", "kill", "true", "false", "test", "[", "wc", "sort", "uniq", "jq",
    "curl", "docker", "nvidia-smi", "tensorboard", "vllm", "pip", "git", "env", "tee", "touch", "chmod", "find",
    "xargs", "du", "df", "diff", "ollama", "ruff", "uptime", "nproc", "wait", "time", "timeout", "watch", "less",
    "nice",
}
KEYWORDS = {"until", "while", "do", "done", "if", "then", "else", "elif", "fi", "!", "{", "}"}
# Modules that expose the evoforge CLI (or one of its commands) as `python -m MODULE`.
CLI_MODULES = {"agent.cli": [], "trainer.train": ["train"]}
SUITE = {"pytest", "scripts/test.sh"}   # test-suite commands: resolved, never run (the suite runs them itself)
CHECKOUT_DIRS = ("agent", "common", "tasks", "trainer", "tests", "bench", "scripts", "docs", "scaffold", "memory")
SPLIT = {";", "&&", "||", "|", "&", "(", ")", ";;", "|&"}
REDIRECT = re.compile(r"^\d*(>|>>|<|<<|<<-|>&|<&|&>)$")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*$")
ALT = "¦"   # stands for a `|` between alternatives of a synopsis


def doc_files() -> list[Path]:
    """The documentation the checks cover: README.md, CONTRIBUTING.md and docs/**/*.md."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "CONTRIBUTING.md"]
    return [f for f in files if f.is_file()]


def rel(path: Path) -> str:
    """A path relative to the checkout where possible (for messages)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# Markdown: fenced blocks, commands, inline spans, links

@dataclass
class Block:
    """One fenced code block: where it starts, its language and its lines (indentation removed)."""

    path: Path
    line: int
    lang: str
    lines: list[str]


@dataclass
class Command:
    """One logical shell line of a block: its text without the trailing comment, tags, heredoc."""

    where: str
    text: str
    tags: list[str]
    comment: str
    heredoc: list[str] = field(default_factory=list)

    @property
    def script(self) -> str:
        """The lines to put in a script to run it."""
        return "\n".join([self.text, *self.heredoc])


def fenced_blocks(path: Path, text: str) -> list[Block]:
    """Every fenced code block of a Markdown text."""
    blocks, cur, fence, indent = [], None, "", 0
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)", line)
        if cur is None and m:
            indent, fence = len(m.group(1)), m.group(2)
            cur = Block(path, n, m.group(3).lower(), [])
        elif cur is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            blocks.append(cur)
            cur = None
        elif cur is not None:
            cur.lines.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
    return blocks


def prose(text: str) -> str:
    """The text outside fenced blocks (fences blanked, line numbers kept)."""
    out, inside, fence = [], False, ""
    for line in text.splitlines():
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if not inside and m:
            inside, fence = True, m.group(1)
            out.append("")
        elif inside and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            inside = False
            out.append("")
        else:
            out.append("" if inside else line)
    return "\n".join(out)


def split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of a shell line: the comment starts at a `#` outside quotes after a blank."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def parse_tags(comment: str) -> list[str]:
    """The `[tag]` words a comment starts with."""
    m = re.match(r"^((?:\[[\w-]+\]\s*)+)", comment)
    return re.findall(r"\[([\w-]+)\]", m.group(1)) if m else []


def commands(block: Block) -> list[Command]:
    """The logical command lines of a shell block."""
    out: list[Command] = []
    lines = block.lines
    i = 0
    while i < len(lines):
        start = i
        code, comment = split_comment(lines[i])
        parts = []
        while code.endswith("\\") and i + 1 < len(lines):
            parts.append(code[:-1].rstrip())
            i += 1
            code, comment = split_comment(lines[i])
        parts.append(code)
        text = " ".join(p.strip() for p in parts if p.strip())
        i += 1
        if not text:
            continue
        cmd = Command(f"{rel(block.path)}:{block.line + 1 + start}", text, parse_tags(comment), comment)
        m = re.search(r"<<(-?)\s*(['\"]?)(\w+)\2", text)
        if m:
            while i < len(lines):
                body = lines[i]
                i += 1
                if (body.strip() if m.group(1) else body.rstrip()) == m.group(3):
                    cmd.heredoc.append(body)
                    break
                cmd.heredoc.append(body)
        out.append(cmd)
    return out


def inline_spans(text: str) -> list[tuple[int, str]]:
    """(line, text) of each `code span` in the prose, newlines inside a span turned into spaces."""
    body = prose(text)
    spans = []
    for m in re.finditer(r"(?<!`)`([^`\n]+(?:\n[^`\n]+)*)`(?!`)", body):
        line = body.count("\n", 0, m.start()) + 1
        spans.append((line, " ".join(m.group(1).split())))
    return spans


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    s = heading.strip().lower().replace("`", "")
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading anchor of a Markdown text (duplicates numbered as GitHub does)."""
    seen: dict[str, int] = {}
    out = set()
    for line in prose(text).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def link_problems(path: Path, text: str) -> list[str]:
    """Relative links whose file or #anchor does not exist."""
    problems = []
    body = re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group(0)), prose(text))
    for m in re.finditer(r"\[[^\]]*\]\(([^)\s]+)\)", body):
        target = m.group(1)
        line = body.count("\n", 0, m.start()) + 1
        where = f"{rel(path)}:{line}"
        if re.match(r"^[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{where}: link to {target}: {file_part} does not exist")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            problems.append(f"{where}: link to {target}: no heading with anchor #{anchor} in {rel(dest)}")
    return problems


# ---------------------------------------------------------------------------------------------
# Resolving commands

@lru_cache(maxsize=1)
def cli():
    """The root click command of `evoforge`."""
    import typer.main

    from agent.cli import app

    return typer.main.get_command(app)


def _is_group(cmd) -> bool:
    return hasattr(cmd, "commands")


def _options(cmd) -> dict[str, object]:
    """Option name -> parameter, for one click command (help included)."""
    names: dict[str, object] = {"--help": None}
    for p in cmd.params:
        if getattr(p, "param_type_name", "") == "option":
            for name in (*p.opts, *p.secondary_opts):
                names[name] = p
    return names


def is_placeholder(token: str) -> bool:
    """True for synopsis notation: ID, RUN_ID, [--json], [ID…|--all], a|b, <id>, …"""
    if "…" in token or "..." in token:
        return True
    if re.match(r"^\[[-A-Z]", token) or (len(token) > 1 and token.endswith("]") and "[" not in token):
        return True
    if "|" in token or ALT in token or re.search(r"<[a-z][\w-]*>", token):
        return True
    value = token.split("=", 1)[1] if "=" in token and not token.startswith("-") else token
    return bool(PLACEHOLDER.match(value))


def check_evoforge(args: list[str], where: str, synopsis: bool) -> list[str]:
    """Problems of `evoforge ARGS`: parsed by the CLI's own parser (lenient for a synopsis)."""
    shown = ("evoforge " + " ".join(args)).replace(ALT, "|")
    if synopsis or any(is_placeholder(a) for a in args):
        return _check_synopsis(args, where, shown)
    from typer import Exit

    cmd, name, parent, rest = cli(), "evoforge", None, list(args)
    sink = io.StringIO()
    while True:
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                ctx = cmd.make_context(name, rest, parent=parent)
        except Exit as exc:            # --help, --version: parsed and answered
            return [] if getattr(exc, "exit_code", 0) == 0 else [f"{where}: {shown}: exits {exc.exit_code}"]
        except Exception as exc:       # click's UsageError family (NoArgsIsHelp: a group shown alone)
            if type(exc).__name__ == "NoArgsIsHelpError":
                return []
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            return [f"{where}: {shown}: {message}"]
        if not _is_group(cmd):
            return []
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not rest:
            return []
        try:
            name, cmd, rest = cmd.resolve_command(ctx, rest)
        except Exception as exc:
            return [f"{where}: {shown}: {exc.format_message() if hasattr(exc, 'format_message') else exc}"]
        parent = ctx


def _check_synopsis(args: list[str], where: str, shown: str) -> list[str]:
    """Lenient check of a synopsis: each command word exists, each option shown exists."""
    import typer._click as click

    cmd, path, i = cli(), ["evoforge"], 0
    problems = []
    while _is_group(cmd) and i < len(args):
        tok = args[i].strip("[]")
        if tok.startswith("-"):
            for piece in re.split(f"[|{ALT}]", tok):
                opt = piece.strip("[]").split("=")[0]
                if opt.startswith("-") and opt not in _options(cmd):
                    problems.append(f"{where}: {shown}: no option {opt} for '{' '.join(path)}'")
            p = _options(cmd).get(tok.split("=")[0])
            i += 2 if p is not None and not getattr(p, "is_flag", False) and "=" not in tok else 1
            continue
        if is_placeholder(tok):
            return problems
        sub = cmd.get_command(click.Context(cmd), tok)
        if sub is None:
            known = ", ".join(cmd.list_commands(click.Context(cmd)))
            return [*problems, f"{where}: {shown}: no command '{tok}' in '{' '.join(path)}' (it has: {known})"]
        cmd, path, i = sub, [*path, tok], i + 1
    opts = _options(cmd)
    for tok in args[i:]:
        for piece in re.split(f"[|{ALT}]", tok):
            opt = piece.strip("[]").split("=")[0]
            if opt.startswith("-") and len(opt) > 1 and opt not in opts:
                problems.append(f"{where}: {shown}: no option {opt} for '{' '.join(path)}'")
    return problems


def _source_options(source: str, args: list[str], what: str, where: str, quoted: bool) -> list[str]:
    problems = []
    for tok in args:
        for piece in re.split(f"[|{ALT}]", tok):
            opt = piece.strip("[]").split("=")[0]
            if not opt.startswith("--") or len(opt) < 3:
                continue
            found = (f'"{opt}"' in source or f"'{opt}'" in source) if quoted else opt in source
            if not found:
                problems.append(f"{where}: {what} has no option {opt}")
    return problems


def check_module(module: str, args: list[str], where: str, synopsis: bool) -> list[str]:
    """Problems of `python -m MODULE ARGS`."""
    if module in CLI_MODULES:
        return check_evoforge([*CLI_MODULES[module], *args], where, synopsis)
    if module == "pytest":
        return check_pytest(args, where)
    if module == "torch.distributed.run":
        return check_torchrun(args, where, synopsis)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return [f"{where}: python -m {module}: no such module"]
    origin = spec.origin
    if spec.submodule_search_locations and (origin is None or not origin.endswith("__main__.py")):
        main = Path(next(iter(spec.submodule_search_locations))) / "__main__.py"
        origin = str(main) if main.exists() else origin
    if not origin or not Path(origin).is_file():
        return []
    return _source_options(Path(origin).read_text(), args, f"python -m {module}", where, quoted=True)


def check_python(args: list[str], where: str, synopsis: bool) -> list[str]:
    """Problems of `python ARGS`."""
    i = 0
    while i < len(args) and args[i] in {"-u", "-B", "-O", "-X"}:
        i += 2 if args[i] == "-X" else 1
    if i >= len(args) or args[i] == "-c":
        return []
    if args[i] == "-m":
        if i + 1 >= len(args) or is_placeholder(args[i + 1]):
            return []
        return check_module(args[i + 1], args[i + 2:], where, synopsis)
    if is_placeholder(args[i]):
        return []
    script = ROOT / args[i]
    if not script.is_file():
        return [f"{where}: python {args[i]}: no such file"]
    return _source_options(script.read_text(), args[i + 1:], f"python {args[i]}", where, quoted=True)


def check_pytest(args: list[str], where: str) -> list[str]:
    """Test files named by a pytest command exist."""
    problems, skip = [], False
    for tok in args:
        if skip:
            skip = False
            continue
        if tok in {"-k", "-m", "-p", "-o", "--timeout", "--maxfail"}:
            skip = True
            continue
        if tok.startswith("-") or is_placeholder(tok):
            continue
        path = tok.split("::")[0]
        if re.search(r"[*?\[]", path):
            if not list(ROOT.glob(path)):
                problems.append(f"{where}: pytest: {path} matches no file")
            continue
        if ("/" in path or path.endswith(".py")) and not (ROOT / path).exists():
            problems.append(f"{where}: pytest: {path} does not exist")
    return problems


def check_torchrun(args: list[str], where: str, synopsis: bool) -> list[str]:
    """Problems of `torchrun [opts] (-m MODULE | SCRIPT) ARGS`."""
    for i, tok in enumerate(args):
        if tok == "-m" and i + 1 < len(args):
            return check_module(args[i + 1], args[i + 2:], where, synopsis)
        if not tok.startswith("-") and tok.endswith(".py"):
            return check_python(args[i:], where, synopsis)
    return [f"{where}: torchrun: no module or script found in {' '.join(args)}"]


def check_script(path: str, args: list[str], where: str) -> list[str]:
    """A shell script exists and knows the options shown (unless it hands its arguments on)."""
    script = ROOT / path
    if not script.is_file():
        return [f"{where}: {path} does not exist"]
    source = script.read_text()
    forwards = [ln for ln in source.splitlines() if '"$@"' in ln and not re.match(r'^\s*for \w+ in "\$@"', ln)]
    if forwards:   # it hands its arguments on (e.g. to pytest): their options are not its own
        return []
    return _source_options(source, args, path, where, quoted=False)


def _path_problems(tokens: list[str], where: str) -> list[str]:
    problems = []
    for tok in tokens:
        value = tok.split("=", 1)[1] if re.match(r"^[A-Za-z_]\w*=", tok) else tok
        value = value[2:] if value.startswith("./") else value
        if not value.startswith(tuple(d + "/" for d in CHECKOUT_DIRS)) or re.search(r"[$*?<>{}\[\]…]", value):
            continue
        if not (ROOT / value.split("::")[0]).exists():
            problems.append(f"{where}: {value} does not exist in the checkout")
    return problems


def simple_commands(text: str) -> list[list[str]]:
    """The simple commands of a shell line, as token lists (operators and redirections removed)."""
    # `a|b` with no blanks is synopsis notation (alternatives), not a pipe
    text = re.sub(r"(?<=[^\s|])\|(?=[^\s|])", ALT, text)
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    tokens = list(lex)
    out, cur, skip = [], [], False
    for tok in tokens:
        if skip:
            skip = False
            continue
        if tok in SPLIT:
            if cur:
                out.append(cur)
            cur = []
        elif REDIRECT.match(tok):
            skip = True
        else:
            cur.append(tok)
    if cur:
        out.append(cur)
    return out


@dataclass
class Resolution:
    """What resolving one command line found."""

    problems: list[str]
    synopsis: bool = False
    suite: bool = False


def resolve(text: str, where: str, synopsis: bool = False) -> Resolution:
    """Resolve one shell line (all its simple commands) without running it."""
    res = Resolution([])
    try:
        simple = simple_commands(text)
    except ValueError as exc:
        return Resolution([f"{where}: cannot parse {text!r}: {exc}"])
    for tokens in simple:
        res.problems += _path_problems(tokens, where)
        while tokens and (tokens[0] in KEYWORDS or re.match(r"^[A-Za-z_]\w*=", tokens[0])):
            tokens = tokens[1:]
        if not tokens:
            continue
        prog, args = tokens[0], tokens[1:]
        base = prog.removeprefix("./").removeprefix(".venv/bin/")
        if prog == "eval":
            for tok in args:
                if tok.startswith("$(") and tok.endswith(")"):
                    inner = resolve(tok[2:-1], where, synopsis)
                    res.problems += inner.problems
                    res.synopsis |= inner.synopsis
                    res.suite |= inner.suite
            continue
        is_synopsis = synopsis or any(is_placeholder(a) for a in args)
        if base == "evoforge":
            res.problems += check_evoforge(args, where, is_synopsis)
        elif base in {"python", "python3"}:
            res.problems += check_python(args, where, is_synopsis)
            if args[:2] == ["-m", "pytest"]:
                res.suite = True
        elif base == "pytest":
            res.problems += check_pytest(args, where)
            res.suite = True
        elif base == "torchrun":
            res.problems += check_torchrun(args, where, is_synopsis)
        elif base in {"bash", "sh"} and args and args[0].endswith(".sh"):
            res.problems += check_script(args[0].removeprefix("./"), args[1:], where)
            res.suite |= args[0].removeprefix("./") in SUITE
        elif "/" in base and base.endswith(".sh"):
            res.problems += check_script(base, args, where)
            if prog.startswith("./") and (ROOT / base).is_file() and not os.access(ROOT / base, os.X_OK):
                res.problems.append(f"{where}: {base} is not executable")
            res.suite |= base in SUITE
        elif "/" in base and base.endswith(".py"):
            res.problems += check_python([base, *args], where, is_synopsis)
        elif prog not in EXTERNAL and not prog.startswith("$"):
            res.problems.append(f"{where}: unknown program {prog!r} (add it to EXTERNAL in tests/doccheck.py "
                                "if it is a real tool)")
            continue
        else:
            continue
        res.synopsis |= is_synopsis
    return res


# ---------------------------------------------------------------------------------------------
# Python and YAML blocks

def python_problems(block: Block) -> list[str]:
    """Import lines of a python block that do not import."""
    problems = []
    for n, line in enumerate(block.lines, block.line + 1):
        m = re.match(r"^from\s+([\w.]+)\s+import\s+([^(#]+)$", line.strip()) if not line[:1].isspace() else None
        m2 = re.match(r"^import\s+([\w.]+)\s*$", line) if not m else None
        where = f"{rel(block.path)}:{n}"
        module = m.group(1) if m else m2.group(1) if m2 else None
        if module is None:
            continue
        try:
            mod = importlib.import_module(module)
        except Exception as exc:
            problems.append(f"{where}: {line.strip()}: {type(exc).__name__}: {exc}")
            continue
        if m:
            for name in (n.split(" as ")[0].strip() for n in m.group(2).split(",")):
                if name and not hasattr(mod, name):
                    try:
                        importlib.import_module(f"{module}.{name}")
                    except ImportError:
                        problems.append(f"{where}: {module} has no {name}")
    return problems


def _check_llm_config(text: str) -> str | None:
    from agent.llm import LLMConfig

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "llm.yaml"
        path.write_text(text)
        try:
            LLMConfig.from_env(config_file=path)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    return None


YAML_VALIDATORS = {"llm.yaml": _check_llm_config}


def yaml_problems(block: Block) -> list[str]:
    """A yaml block must parse; one that names a known config file must load as that file."""
    import yaml

    text = "\n".join(block.lines) + "\n"
    where = f"{rel(block.path)}:{block.line}"
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"{where}: yaml block does not parse: {exc}"]
    first = block.lines[0].strip() if block.lines else ""
    for name, validate in YAML_VALIDATORS.items():
        if first.startswith("#") and first.endswith(name):
            error = validate(text)
            if error:
                return [f"{where}: {name} example does not load: {error}"]
    return []


# ---------------------------------------------------------------------------------------------
# Everything static about one document

INLINE_PROGRAMS = ("evoforge ", "python ", "python3 ", "torchrun ", "pytest ", "./scripts/", "scripts/", "bench/",
                   ".venv/bin/")


def static_problems(path: Path, text: str | None = None) -> list[str]:
    """Every problem of one document that can be found without running a command."""
    text = path.read_text() if text is None else text
    problems = link_problems(path, text)
    for block in fenced_blocks(path, text):
        where = f"{rel(path)}:{block.line}"
        if block.lang in SHELL_LANGS:
            for cmd in commands(block):
                unknown = [t for t in cmd.tags if t not in TAGS]
                if unknown:
                    problems.append(f"{cmd.where}: unknown tag(s) {unknown}; known: {sorted(TAGS)}")
                problems += resolve(cmd.text, cmd.where).problems
        elif block.lang == "python":
            problems += python_problems(block)
        elif block.lang in {"yaml", "yml"}:
            problems += yaml_problems(block)
        elif block.lang in {"", "text"}:
            first = next((ln.strip() for ln in block.lines if ln.strip()), "")
            if first.startswith(tuple(p for p in INLINE_PROGRAMS if p != "bench/")):
                problems.append(f"{where}: a block of commands must be fenced as ```bash so that it is checked")
    for line, span in inline_spans(text):
        if span.startswith(INLINE_PROGRAMS) and " " in span:
            problems += resolve(span, f"{rel(path)}:{line}", synopsis=True).problems
    return problems


# ---------------------------------------------------------------------------------------------
# Running the runnable commands

def runnable(cmd: Command, slow: bool, docker: bool) -> bool:
    """Whether the doc test runs this command (see TAGS)."""
    tags = set(cmd.tags)
    if tags - {"slow", "docker"} or ("slow" in tags and not slow) or ("docker" in tags and not docker):
        return False
    res = resolve(cmd.text, cmd.where)
    return not (res.synopsis or res.suite or res.problems)


def docker_answers() -> bool:
    """True when a Docker engine answers (for `[docker]` commands)."""
    try:
        from agent.sandbox import docker_available

        return docker_available(need_image=False)[0]
    except Exception:
        return False


class DocEnv:
    """A throw-away place to run documented commands: the checkout's layout, isolated state.

    The working directory mirrors the checkout (symlinks to its folders) with its own runs/,
    scaffold/ and memory/; HOME, EVOFORGE_RUNS/DATA/MEMORY/SCAFFOLD point inside it, and no model
    endpoint or key of the caller's leaks in.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.cwd = base / "checkout"
        self.home = base / "home"
        self.cwd.mkdir(parents=True)
        self.home.mkdir()
        for entry in ROOT.iterdir():
            if entry.name in {"runs", "scaffold", "memory", ".git"}:
                continue
            (self.cwd / entry.name).symlink_to(entry)
        shutil.copytree(ROOT / "scaffold", self.cwd / "scaffold")
        shutil.copytree(ROOT / "memory", self.cwd / "memory")
        (self.cwd / "runs").mkdir()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPENAI_", "EVOFORGE_", "XDG_CONFIG", "VIRTUAL_ENV", "PYTEST_"))}
        venv_bin = ROOT / ".venv" / "bin"
        path_head = str(venv_bin) if venv_bin.is_dir() else str(Path(sys.executable).parent)
        env.update({
            "HOME": str(self.home),
            "PATH": f"{path_head}:{env.get('PATH', '')}",
            "EVOFORGE_RUNS": str(self.cwd / "runs"),
            "EVOFORGE_DATA": str(self.home / ".cache" / "evoforge" / "data"),
            "EVOFORGE_MEMORY": str(self.cwd / "memory" / "MEMORY.md"),
            "EVOFORGE_SCAFFOLD": str(self.cwd / "scaffold"),
            "OUT": str(base / "out"),
            "COLUMNS": "80",
        })
        self.env = env
        self.done: set[str] = set()

    def script(self, block: Block, slow: bool, docker: bool) -> str | None:
        """The bash script of a block's runnable commands (None when nothing in it runs)."""
        lines = []
        for cmd in commands(block):
            if not runnable(cmd, slow, docker):
                continue
            if cmd.text.startswith("evoforge ") and cmd.text in self.done:
                continue   # the same command already ran in this environment
            lines.append(cmd.script)
        return "set -eo pipefail\n" + "\n".join(lines) + "\n" if lines else None

    def run_doc(self, path: Path, slow: bool = False, timeout: float = 600) -> list[str]:
        """Run every runnable command of a document, block by block; a failing block is a problem."""
        docker = docker_answers()
        problems = []
        for n, block in enumerate(b for b in fenced_blocks(path, path.read_text()) if b.lang in SHELL_LANGS):
            script = self.script(block, slow, docker)
            if script is None:
                continue
            rc, output = self._run(script, f"{path.stem}-{n}", timeout)
            if rc != 0:
                tail = "\n".join(output.splitlines()[-40:])
                problems.append(f"{rel(path)}:{block.line}: block exited {rc}\n--- ran ---\n{script}"
                                f"--- output (last lines) ---\n{tail}")
            else:
                self.done.update(c.text for c in commands(block) if runnable(c, slow, docker))
        return problems

    def _run(self, script: str, name: str, timeout: float) -> tuple[int, str]:
        script_file = self.base / f"{name}.sh"
        log_file = self.base / f"{name}.log"
        script_file.write_text(script)
        with open(log_file, "w") as log:
            proc = subprocess.Popen(["bash", str(script_file)], cwd=self.cwd, env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                rc = 124
            finally:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)   # background jobs a block left behind
                proc.wait()
        return rc, log_file.read_text(errors="replace")


def main(argv: list[str] | None = None) -> int:
    """Print the static problems of the given documents (default: all of them)."""
    args = argv if argv is not None else sys.argv[1:]
    files = [Path(a).resolve() for a in args] if args else doc_files()
    problems = [p for f in files for p in static_problems(f)]
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s) in {len(files)} document(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
