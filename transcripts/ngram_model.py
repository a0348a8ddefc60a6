"""The category and urgency model as data: character n-grams with their idf and weights, read
and applied by plain Python (transcripts/learned.py trains and uses it).

A JSON file, one n-gram a line, written whole or not at all; what scikit-learn's
TfidfVectorizer(analyzer="char", sublinear_tf=True) and LogisticRegression.predict_proba compute,
written out, so no pickle is loaded and no scikit-learn is needed at run time.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transcripts.errors import TranscriptionError

FORMAT = "hotline-category-model/2"
#: Files of the first format (category only) are still read; they have no urgency head.
FORMATS = ("hotline-category-model/1", FORMAT)
NGRAM_RANGE = (1, 3)
#: How scikit-learn's char analyzer joins runs of white space (TfidfVectorizer).
_WHITE_SPACES = re.compile(r"\s\s+")
#: Decimal places kept in the file (probabilities agree with the fitted model to ~1e-5).
_PLACES = 6


class ModelFileError(TranscriptionError):
    """A category model file that cannot be read: what is wrong, and that the rules decide."""


@dataclass(frozen=True)
class NgramModel:
    """Character n-gram TF-IDF and a multinomial logistic regression, as plain data.

    `weights[ngram]` is (idf, weight per class). Applying it is what scikit-learn's
    TfidfVectorizer(analyzer="char", sublinear_tf=True, norm="l2") and
    LogisticRegression.predict_proba do, written out.
    """

    classes: tuple[str, ...]
    intercepts: tuple[float, ...]
    weights: dict[str, tuple[float, tuple[float, ...]]]
    ngram_range: tuple[int, int] = NGRAM_RANGE
    about: dict[str, Any] = field(default_factory=dict)
    #: The urgency head (safety, leak, normal) on the same n-grams: its weights follow the
    #: category weights in each row. Empty in a category-only model.
    urgency_classes: tuple[str, ...] = ()
    urgency_intercepts: tuple[float, ...] = ()

    @classmethod
    def from_pipeline(
        cls, pipeline: Any, about: dict[str, Any] | None = None, urgency: Any = None
    ) -> NgramModel:
        """From a fitted `_pipeline()` (TfidfVectorizer + LogisticRegression) and, if given, a
        LogisticRegression of the urgency fitted on the same vectorizer's features."""
        vectorizer = pipeline[0]
        classes, coef, intercept = head(pipeline[-1])
        u_classes, u_coef, u_intercept = head(urgency) if urgency is not None else ([], [], [])
        weights = {
            str(ngram): (
                round(float(vectorizer.idf_[at]), _PLACES),
                tuple(round(float(row[at]), _PLACES) for row in (*coef, *u_coef)),
            )
            for ngram, at in vectorizer.vocabulary_.items()
        }
        return cls(
            tuple(classes),
            tuple(round(float(b), _PLACES) for b in intercept),
            weights,
            tuple(vectorizer.ngram_range),
            dict(about or {}),
            tuple(u_classes),
            tuple(round(float(b), _PLACES) for b in u_intercept),
        )

    def ngrams(self, said: str) -> list[str]:
        said = _WHITE_SPACES.sub(" ", said.lower())
        low, high = self.ngram_range
        return [
            said[i : i + n]
            for n in range(low, min(high, len(said)) + 1)
            for i in range(len(said) - n + 1)
        ]

    def known(self, said: str) -> int:
        """How many distinct n-grams of the line the model has weights for."""
        return len({g for g in self.ngrams(said) if g in self.weights and g.strip()})

    def _features(self, said: str) -> dict[str, float]:
        counts = Counter(g for g in self.ngrams(said) if g in self.weights)
        scored = {g: (1 + math.log(n)) * self.weights[g][0] for g, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in scored.values())) or 1.0
        return {g: v / norm for g, v in scored.items()}

    def _softmax(
        self, features: dict[str, float], intercepts: Sequence[float], at: int
    ) -> list[float]:
        decision = list(intercepts)
        for g, value in features.items():
            row = self.weights[g][1]
            for k in range(len(decision)):
                decision[k] += value * row[at + k]
        top = max(decision)
        exp = [math.exp(d - top) for d in decision]
        total = sum(exp)
        return [e / total for e in exp]

    def probabilities(self, said: str) -> list[float]:
        return self._softmax(self._features(said), self.intercepts, 0)

    def urgency_probabilities(self, said: str) -> dict[str, float]:
        """P(safety), P(leak), P(normal) of the line; {} for a model without the urgency head."""
        if not self.urgency_classes:
            return {}
        row = self._softmax(self._features(said), self.urgency_intercepts, len(self.classes))
        return dict(zip(self.urgency_classes, row, strict=True))

    def safety_pull(self, said: str) -> float:
        """The most any one n-gram of the line adds to the safety decision over normal's."""
        if "safety" not in self.urgency_classes or "normal" not in self.urgency_classes:
            return 0.0
        at = len(self.classes)
        safety = at + self.urgency_classes.index("safety")
        normal = at + self.urgency_classes.index("normal")
        pulls = (
            value * (self.weights[g][1][safety] - self.weights[g][1][normal])
            for g, value in self._features(said).items()
        )
        return max(pulls, default=0.0)

    def guess(self, said: str) -> tuple[str, float]:
        row = self.probabilities(said)
        best = max(range(len(row)), key=row.__getitem__)
        return self.classes[best], row[best]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            **self.about,
            "ngram_range": list(self.ngram_range),
            "classes": list(self.classes),
            "intercepts": list(self.intercepts),
            "urgency_classes": list(self.urgency_classes),
            "urgency_intercepts": list(self.urgency_intercepts),
            "weights": {g: [idf, *w] for g, (idf, w) in sorted(self.weights.items())},
        }

    def save(self, path: Path) -> None:
        """One n-gram a line (a retrained model reads as a diff), written whole or not at all."""
        data = self.to_json()
        weights = data.pop("weights")
        lines = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in data.items()]
        rows = [f"{json.dumps(g, ensure_ascii=False)}: {json.dumps(w)}" for g, w in weights.items()]
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(
            "{\n" + "\n".join(lines) + '\n"weights": {\n' + ",\n".join(rows) + "\n}}\n",
            encoding="utf-8",
        )
        partial.replace(path)  # never a half-written model in use

    @classmethod
    def load(cls, path: Path) -> NgramModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") not in FORMATS:
                raise ValueError(
                    f"format {data.get('format')!r}, expected one of " + ", ".join(FORMATS)
                )
            classes = tuple(str(c) for c in data["classes"])
            urgency_classes = tuple(str(c) for c in data.get("urgency_classes", ()))
            urgency_intercepts = tuple(float(b) for b in data.get("urgency_intercepts", ()))
            if len(urgency_intercepts) != len(urgency_classes):
                raise ValueError("urgency intercepts and classes differ in number")
            width = len(classes) + len(urgency_classes)
            weights = {}
            for ngram, row in data["weights"].items():
                if len(row) != width + 1:
                    raise ValueError(f"n-gram {ngram!r} has {len(row)} numbers, not {width + 1}")
                weights[ngram] = (float(row[0]), tuple(float(w) for w in row[1:]))
            intercepts = tuple(float(b) for b in data["intercepts"])
            if len(intercepts) != len(classes) or len(classes) < 2:
                raise ValueError(f"{len(intercepts)} intercepts for {width} classes")
            low, high = (int(n) for n in data["ngram_range"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ModelFileError(f"category model {path} cannot be read: {error}") from error
        about = {
            k: v
            for k, v in data.items()
            if k
            not in {
                "format",
                "ngram_range",
                "classes",
                "intercepts",
                "weights",
                "urgency_classes",
                "urgency_intercepts",
            }
        }
        return cls(
            classes, intercepts, weights, (low, high), about, urgency_classes, urgency_intercepts
        )


def head(regression: Any) -> tuple[list[str], Any, Any]:
    """Classes, weights and intercepts of a fitted LogisticRegression, one row per class."""
    coef, intercept = regression.coef_, regression.intercept_
    if coef.shape[0] == 1:  # two classes: one decision d, probabilities sigmoid(d)
        coef, intercept = [-coef[0] / 2, coef[0] / 2], [-intercept[0] / 2, intercept[0] / 2]
    return [str(c) for c in regression.classes_], coef, intercept
