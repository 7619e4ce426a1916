"""The Jinja2 environment the renderers share: templates looked up in the config's folder, then the bundled one,
each compiled once per process."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
_COMPILED: dict[bool, object] = {}  # autoescape → the templates compiled in this process (see _compiled)


def _compiled(autoescape: bool):  # -> jinja2.BytecodeCache
    """Each template is compiled once per process, not once per renderer: a build makes a renderer for each format
    and script, and a process (`newsmirror demo`, a service, the tests) builds many times. Jinja2 keys an entry by
    the template's name and file and checks it against the source's checksum, so an edited or overriding
    template is compiled afresh; the other options that shape the code are the same for every renderer."""
    cache = _COMPILED.get(autoescape)
    if cache is None:
        import jinja2

        class CodeInMemory(jinja2.BytecodeCache):
            def __init__(self) -> None:
                self.code: dict[str, tuple[str, object]] = {}

            def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
                hit = self.code.get(bucket.key)
                if hit is not None and hit[0] == bucket.checksum:
                    bucket.code = hit[1]  # type: ignore[assignment]

            def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
                self.code[bucket.key] = (bucket.checksum, bucket.code)

        cache = _COMPILED.setdefault(autoescape, CodeInMemory())
    return cache


def environment(template_dirs: list[Path], autoescape: bool):  # -> jinja2.Environment
    """The templates of `template_dirs` (first match wins), as every renderer renders them."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in template_dirs]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        auto_reload=False,  # a run's templates do not change under it: no stat of each file per page
        bytecode_cache=_compiled(autoescape),
    )
