"""NLU benchmark: 5-fold cross-validation of the intent classifier, plus one timed training.

Runs, in a scratch folder (never var/models):
  rasa test nlu --nlu data/nlu --config bot/config.yml --cross-validation --folds 5
  rasa train nlu --config bot/config.yml --domain bot/domain.yml --nlu data/nlu
and writes bench/results/nlu_cv.json, nlu_cv.md and nlu_confusion.png.

Scores are on held-out folds only (each example is predicted by a model that never saw
it). `rasa test` undoes the FallbackClassifier, so the top intent counts even below the
fallback threshold; for the escalation triggers the summary also gives the recall the
live bot would see, where such a prediction becomes nlu_fallback. StratifiedKFold
shuffles without a seed, so figures move by a point or so between runs.

Usage: .venv/bin/python bench/nlu_cv.py [--folds 5] [--skip-train] [--keep DIR] [--note TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"

MACRO_F1_TARGET = 0.90
ESCALATION_RECALL_TARGET = 0.95
# COMPLIANCE.md E1-E5 triggers that the NLU recognises.
ESCALATION_INTENTS = {
    "dispute_debt": "E1",
    "complain": "E2",
    "request_human": "E2",
    "express_distress": "E3",
    "inform_lawyer_involved": "E4",
    "inform_bereavement": "E5",
}
_SUMMARY_KEYS = ("accuracy", "macro avg", "weighted avg", "micro avg")
FALLBACK_THRESHOLD = 0.5  # bot/config.yml FallbackClassifier threshold


def _child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rasa(args: list[str], log: Path) -> float:
    """Run one rasa command, its output to `log`; the wall-clock seconds it took."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        completed = subprocess.run(
            [str(RASA), *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if completed.returncode != 0:
        sys.exit(f"rasa {' '.join(args[:2])} failed ({completed.returncode}); see {log}")
    return time.monotonic() - started


def cross_validate(scratch: Path, folds: int) -> tuple[dict, dict, list, float]:
    out = scratch / "cv"
    seconds = _rasa(
        ["test", "nlu", "--nlu", "data/nlu", "--config", "bot/config.yml",
         "--cross-validation", "--folds", str(folds), "--out", str(out), "--successes"],
        scratch / "cv.log",
    )
    return read_cv_output(out) + (seconds,)


def read_cv_output(out: Path) -> tuple[dict, dict, list]:
    """The intent report, entity report and intent errors rasa wrote into `out`."""
    intents = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    entity_file = out / "DIETClassifier_report.json"
    entities = json.loads(entity_file.read_text(encoding="utf-8")) if entity_file.exists() else {}
    errors = []
    for name in ("intent_errors.json", "intent_successes.json"):
        path = out / name
        if path.exists():
            errors += [dict(e, hit=name == "intent_successes.json")
                       for e in json.loads(path.read_text(encoding="utf-8"))]
    shutil.copyfile(out / "intent_confusion_matrix.png", RESULTS / "nlu_confusion.png")
    return intents, entities, errors  # errors: every prediction, with hit True/False


def train_once(scratch: Path) -> dict:
    out = scratch / "model"
    cpu_before, load_before = _child_cpu_seconds(), os.getloadavg()
    seconds = _rasa(
        ["train", "nlu", "--config", "bot/config.yml", "--domain", "bot/domain.yml",
         "--nlu", "data/nlu", "--out", str(out)],
        scratch / "train.log",
    )
    model = next(out.glob("*.tar.gz"))
    # Wall time depends on what else the shared machine runs; CPU time much less so.
    return {
        "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(_child_cpu_seconds() - cpu_before, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "model_bytes": model.stat().st_size,
    }


def per_intent(report: dict) -> dict[str, dict]:
    return {
        name: {
            "precision": round(row["precision"], 4),
            "recall": round(row["recall"], 4),
            "f1": round(row["f1-score"], 4),
            "support": int(row["support"]),
            "confused_with": row.get("confused_with", {}),
        }
        for name, row in sorted(report.items())
        if name not in _SUMMARY_KEYS and isinstance(row, dict) and "f1-score" in row
    }


def entity_summary(report: dict) -> dict[str, dict]:
    return {
        name: {
            "precision": round(row["precision"], 4),
            "recall": round(row["recall"], 4),
            "f1": round(row["f1-score"], 4),
            "support": int(row["support"]),
        }
        for name, row in report.items()
        if name in ("amount", "date_phrase", "macro avg") and isinstance(row, dict)
    }


def escalation_rows(rows: dict, predictions: list) -> dict:
    """Recall per trigger, and how its misses fall: into another trigger (the chat still
    goes to a human, though maybe down another path) or under the fallback threshold.
    With successes recorded, also the live recall: a hit under the threshold is a miss."""
    result = {}
    for name, rule in ESCALATION_INTENTS.items():
        misses = [e for e in predictions if e["intent"] == name and not e.get("hit")]
        hits = [e for e in predictions if e["intent"] == name and e.get("hit")]
        confident_hits = sum(e["intent_prediction"]["confidence"] >= FALLBACK_THRESHOLD
                             for e in hits)
        to_other_trigger = sum(e["intent_prediction"]["name"] in ESCALATION_INTENTS for e in misses)
        low_confidence = sum(e["intent_prediction"]["confidence"] < FALLBACK_THRESHOLD for e in misses)
        support = rows[name]["support"]
        result[name] = {
            "rule": rule,
            "recall": rows[name]["recall"],
            "support": support,
            "meets_target": rows[name]["recall"] >= ESCALATION_RECALL_TARGET,
            "misses": len(misses),
            "misses_into_other_trigger": to_other_trigger,
            "misses_below_fallback_threshold": low_confidence,
            "recall_any_trigger": round(1 - (len(misses) - to_other_trigger) / support, 4),
            "live_recall": round(confident_hits / support, 4) if hits else None,
        }
    return result


def summarise(intents: dict, entities: dict, predictions: list, cv_seconds: float, folds: int,
              training: dict | None) -> dict:
    rows = per_intent(intents)
    macro_f1 = sum(r["f1"] for r in rows.values()) / len(rows)
    escalation = escalation_rows(rows, predictions)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": f"rasa test nlu --nlu data/nlu --config bot/config.yml "
                   f"--cross-validation --folds {folds}",
        "folds": folds,
        "examples": sum(r["support"] for r in rows.values()),
        "intents": len(rows),
        "macro_f1": round(macro_f1, 4),
        "macro_f1_target": MACRO_F1_TARGET,
        "accuracy": round(intents.get("accuracy", 0.0), 4),
        "weighted_f1": round(intents.get("weighted avg", {}).get("f1-score", 0.0), 4),
        "escalation_recall_target": ESCALATION_RECALL_TARGET,
        "escalation": escalation,
        "per_intent": rows,
        "entities": entity_summary(entities),
        "cv_seconds": round(cv_seconds, 1),
        "training": training,
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": load,
                    "python": platform.python_version()},
    }


def markdown(result: dict) -> str:
    rows = result["per_intent"]
    weakest = sorted(rows.items(), key=lambda kv: kv[1]["f1"])[:6]
    esc_ok = all(e["meets_target"] for e in result["escalation"].values())
    lines = [
        "# NLU cross-validation",
        "",
        f"{result['folds']}-fold cross-validation over {result['examples']} examples in "
        f"{result['intents']} intents (`{result['command']}`), {result['generated_at']}. "
        "Held-out folds only; `rasa test` scores the top intent even under the fallback "
        "threshold (the live column counts those as misses). "
        "A benchmark, not a test: folds are shuffled without a seed, so figures move a "
        "little between runs.",
        "",
        f"- **Macro-F1 {result['macro_f1']:.3f}** (target {result['macro_f1_target']:.2f}: "
        f"{'met' if result['macro_f1'] >= result['macro_f1_target'] else 'NOT met'}); "
        f"accuracy {result['accuracy']:.3f}, weighted F1 {result['weighted_f1']:.3f}.",
        f"- **Escalation triggers** (recall target {result['escalation_recall_target']:.2f}: "
        f"{'all met' if esc_ok else 'NOT all met'}):",
        "",
        "| intent | rule | recall | support | misses | of which into another trigger | "
        "of which below fallback threshold | recall as 'some trigger' | live recall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, esc in result["escalation"].items():
        mark = "" if esc["meets_target"] else " ⚠"
        lines.append(
            f"| {name} | {esc['rule']} | {esc['recall']:.3f}{mark} | {esc['support']} | "
            f"{esc['misses']} | {esc['misses_into_other_trigger']} | "
            f"{esc['misses_below_fallback_threshold']} | {esc['recall_any_trigger']:.3f} | "
            f"{'-' if esc['live_recall'] is None else format(esc['live_recall'], '.3f')} |")
    lines += ["", "Weakest intents (F1):", "", "| intent | P | R | F1 | confused with |",
              "|---|---|---|---|---|"]
    for name, row in weakest:
        confused = ", ".join(f"{k} ({v})" for k, v in row["confused_with"].items()) or "-"
        lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | "
                     f"{row['f1']:.3f} | {confused} |")
    if result["entities"]:
        lines += ["", "Entities (DIET, held-out): " + "; ".join(
            f"{k} P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f} (n={v['support']})"
            for k, v in result["entities"].items())]
    training = result["training"]
    if training:
        lines += ["", f"One full `rasa train nlu`: {training['train_seconds']} s wall, "
                      f"{training.get('train_cpu_seconds', '?')} s CPU, model "
                      f"{training['model_bytes'] / 1e6:.1f} MB "
                      f"({result['machine']['cpus']} CPUs, load average at end "
                      f"{', '.join(f'{x:.1f}' for x in result['machine']['load_average_at_end'] or [])})."]
    if result.get("notes"):
        lines += ["", "Notes:", ""] + [f"- {note}" for note in result["notes"]]
    lines += ["", f"Cross-validation wall time {result['cv_seconds']} s. Per-intent figures: "
                  "`nlu_cv.json`; confusion matrix: `nlu_confusion.png`.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-train", action="store_true",
                        help="do not time a full training (keeps the previous figures)")
    parser.add_argument("--keep", type=Path, help="scratch folder to keep (default: a temp dir)")
    parser.add_argument("--reuse", type=Path,
                        help="re-summarise a kept scratch folder's cv/ output without rerunning")
    parser.add_argument("--note", action="append", default=[],
                        help="a caveat to print under the figures (repeatable)")
    args = parser.parse_args()
    if args.reuse:
        previous = json.loads((RESULTS / "nlu_cv.json").read_text(encoding="utf-8"))
        intents, entities, errors = read_cv_output(args.reuse / "cv")
        result = summarise(intents, entities, errors, previous["cv_seconds"], previous["folds"],
                           previous.get("training"))
        result["generated_at"] = previous["generated_at"]
        result["notes"] = args.note or previous.get("notes", [])
        _write(result)
        return

    RESULTS.mkdir(parents=True, exist_ok=True)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="nlu-cv-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        training = None
        if args.skip_train:
            previous = RESULTS / "nlu_cv.json"
            if previous.exists():
                training = json.loads(previous.read_text(encoding="utf-8")).get("training")
        else:
            training = train_once(scratch)
        intents, entities, errors, cv_seconds = cross_validate(scratch, args.folds)
        result = summarise(intents, entities, errors, cv_seconds, args.folds, training)
        result["notes"] = args.note
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    _write(result)


def _write(result: dict) -> None:
    (RESULTS / "nlu_cv.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (RESULTS / "nlu_cv.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
