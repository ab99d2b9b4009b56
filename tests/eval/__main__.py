"""`make eval`: how well the service finds the memories that answer a question.

Each suite starts `memos serve` as a real process on its own fresh data directory, sends
dialogues through `add/message` as a client would, waits for extraction, asks every question
through `search/memory` and scores the answer by the messages each returned memory came from.

  ours    the dialogues of tests/eval/data.py (Chinese and English, changed facts); results in
          bench-results/eval.json (--out). See tests/eval/ours.py.
  preferences  the dialogues of tests/eval/preference_data.py (users stating preferences in
          Chinese and English, requests they bear on): whether search's preference_detail_list
          and preference_note bring them back; results in bench-results/preferences.json.
          See tests/eval/preferences.py.
  locomo  the LoCoMo development conversations, with the protocol of mem0's and MemOS's LoCoMo
          harnesses, beside a BM25 floor over the raw turns; results in
          bench-results/locomo.json (--locomo-out). See tests/eval/locomo.py.

    python -m tests.eval [--suite ours|preferences|locomo|all] [--env KEY=VALUE ...] [--llm-judge]
                         [--locomo-dir PATH] [--conversations 41,42] [--bm25-only]

`--env` passes settings to the service (e.g. `--env LLM_BASE_URL=... --env LLM_MODEL=...` to
evaluate LLM extraction). `--llm-judge` (ours only) additionally has that LLM answer each
question from the returned memories and grade the answer against the reference.
"""

import argparse
import os
import sys
from pathlib import Path

from tests.eval import locomo, ours, preferences
from tests.eval.common import SERVICE_ENV, parse_env

SUITES = ("ours", "preferences", "locomo")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--suite",
        choices=(*SUITES, "all"),
        default="all",
        help="which suite to run; all: one after the other, each on its own "
        "fresh service (default: all)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the service (repeatable)",
    )
    parser.add_argument(
        "--llm-judge",
        action="store_true",
        help="ours only: answer and grade every question with the LLM given by "
        "--env LLM_BASE_URL=... --env LLM_MODEL=...",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results") / "eval.json",
        help="where the ours suite's results go (default: %(default)s)",
    )
    parser.add_argument(
        "--locomo-out",
        type=Path,
        default=Path("bench-results") / "locomo.json",
        help="where the locomo suite's results go (default: %(default)s)",
    )
    parser.add_argument(
        "--preferences-out",
        type=Path,
        default=Path("bench-results") / "preferences.json",
        help="where the preferences suite's results go (default: %(default)s)",
    )
    parser.add_argument(
        "--locomo-dir",
        type=Path,
        default=None,
        help="the LoCoMo development set (default: $LOCOMO_DIR, else "
        "../shared/data/locomo-dev beside the repository)",
    )
    parser.add_argument(
        "--conversations",
        default=None,
        metavar="STEMS",
        help="locomo: only these files, by stem, comma-separated (e.g. 41,42)",
    )
    parser.add_argument(
        "--bm25-only",
        action="store_true",
        help="locomo: print only the BM25 floor, computed without a service",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800,
        help="seconds to wait for extraction to finish, per suite",
    )
    args = parser.parse_args(argv)
    env = {**SERVICE_ENV, **parse_env(args.env)}
    suites = SUITES if args.suite == "all" else (args.suite,)
    only = (
        [stem.strip() for stem in args.conversations.split(",") if stem.strip()]
        if args.conversations
        else None
    )

    if args.bm25_only or "locomo" in suites:  # fails before any service starts
        directory = args.locomo_dir or Path(os.environ.get("LOCOMO_DIR") or locomo.DEFAULT_DIR)
        conversations = locomo.load(directory, only)
    if args.bm25_only:
        print(locomo.floor_report(conversations))
        return
    if (
        "ours" in suites
        and args.llm_judge
        and not (env.get("LLM_BASE_URL") and env.get("LLM_MODEL"))
    ):
        raise SystemExit(
            "--llm-judge needs an LLM: pass --env LLM_BASE_URL=<OpenAI-compatible "
            "base URL> --env LLM_MODEL=<model> (and --env LLM_API_KEY=... if the "
            "endpoint wants one); the service extracts with the same LLM."
        )
    if args.llm_judge and "ours" not in suites:
        print("--llm-judge applies to the ours suite only; ignored", file=sys.stderr)

    if "ours" in suites:
        ours.run(env, judge=args.llm_judge, timeout=args.timeout, out=args.out)
    if "preferences" in suites:
        preferences.run(env, timeout=args.timeout, out=args.preferences_out)
    if "locomo" in suites:
        locomo.run(conversations, env, timeout=args.timeout, out=args.locomo_out)


if __name__ == "__main__":
    main()
