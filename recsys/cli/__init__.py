"""Command line: ``visrec demo|embed|train|recommend|similar|search|serve|events|adapt|align|evaluate|compare|doctor``.

One module per command, each with ``add_parser(subparsers)`` and ``run(args)``; shared options in
:mod:`recsys.cli.options`. Nothing below this package parses arguments.
"""

from __future__ import annotations

import argparse
import sys

from recsys import __version__

from . import adapt, align, compare, demo, doctor, embed, evaluate, events, recommend, search, serve, similar, train

COMMANDS = (demo, embed, train, recommend, similar, search, serve, events, adapt, align, evaluate, compare, doctor)


def build_parser() -> argparse.ArgumentParser:
    from recsys.models.registry import model_help
    p = argparse.ArgumentParser(prog="visrec", description="Visual-similarity recommendations for e-commerce.",
                                epilog="models (--model of train, --models of evaluate): "
                                       f"{model_help()}")
    p.add_argument("--version", action="version", version=f"visrec {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv=None) -> int:
    from recsys.data import DataError, UnknownIdError
    from visual import ImageError, StoreMismatchError
    args = build_parser().parse_args(argv)
    try:
        rc = args.func(args)
    except (DataError, UnknownIdError, StoreMismatchError, ImageError, ValueError, OSError) as e:
        # OSError: a missing file, a folder where a file is expected, an --out under a regular file, no
        # permission -- its message names the path
        print(f"error: {e}", file=sys.stderr)
        return 2
    return rc or 0
