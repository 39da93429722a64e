"""recommender/ml imports no Django (STYLE.md §7)."""

import subprocess
import sys
from pathlib import Path

ML_DIR = Path(__file__).resolve().parents[3] / "recommender" / "ml"


def test_ml_sources_do_not_mention_django_imports():
    for path in ML_DIR.glob("*.py"):
        text = path.read_text()
        assert "import django" not in text and "from django" not in text, path.name


def test_ml_package_imports_without_django_loaded():
    code = (
        "import sys, recommender.ml.registry, recommender.ml.evaluate; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ML_DIR.parents[1])


def test_the_interface_imports_no_model_or_registry():
    code = (
        "import sys, recommender.ml.base; "
        "assert not {'recommender.ml.registry', 'recommender.ml.mf', "
        "'recommender.ml.seq_recommender'} & set(sys.modules), 'loop'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ML_DIR.parents[1])
