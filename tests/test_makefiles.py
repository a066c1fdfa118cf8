"""The Makefile reader DA520 uses to see what ``make GOAL`` runs, and DA520 reading it through the context."""

from pathlib import Path

import dockaudit
from dockaudit.facts.makefiles import expand, goal_recipes, parse_makefile

MAKEFILE = """\
BASE := https://huggingface.co/org/model/resolve/main
DIR ?= models
DIR ?= ignored
FLAGS = -sL
FLAGS += --retry 3

.PHONY: all weights
all: build ## the first target is the default goal
build:
\tgo build ./...

weights: $(DIR)/model.onnx tokenizer
\t@echo "done"

$(DIR)/model.onnx:
\t@curl $(FLAGS) -o $@ \\
\t    $(BASE)/onnx/model.onnx

tokenizer: ; curl -o tok.json $(BASE)/tokenizer.json
%.gguf:
\twget https://example.com/$@
loop: loop
"""


def test_variables_follow_make_assignment_rules():
    parsed = parse_makefile(MAKEFILE)
    assert parsed.variables["DIR"] == "models"  # ?= keeps the first value
    assert parsed.variables["FLAGS"] == "-sL --retry 3"
    assert parsed.default_goal == "all"
    assert expand("$(DIR)/${DIR}/$$HOME", parsed.variables) == "models/models/$HOME"


def test_a_goal_runs_its_prerequisites_recipes():
    lines = goal_recipes(MAKEFILE, ["weights"])
    assert 'echo "done"' in lines
    url = "https://huggingface.co/org/model/resolve/main/onnx/model.onnx"
    assert f"curl -sL --retry 3 -o models/model.onnx {url}" in lines
    assert "curl -o tok.json https://huggingface.co/org/model/resolve/main/tokenizer.json" in lines


def test_default_goal_pattern_rules_and_cycles():
    assert goal_recipes(MAKEFILE, []) == ["go build ./..."]
    assert goal_recipes(MAKEFILE, ["model.gguf"]) == []  # pattern rules are not read
    assert goal_recipes(MAKEFILE, ["loop"]) == []
    assert goal_recipes(MAKEFILE, ["nowhere"]) == []


def _da520(tmp_path: Path, dockerfile: str) -> list[str]:
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    return [f.message for f in dockaudit.lint(str(path), select=["DA520"]) if f.rule == "DA520"]


def test_make_goal_downloads_are_read_from_the_context(tmp_path):
    (tmp_path / "ml").mkdir()
    (tmp_path / "ml" / "Makefile").write_text(MAKEFILE)
    (message,) = _da520(tmp_path, "FROM python:3.12-slim\nCOPY . /app\nRUN make -C ml weights\n")
    assert "onnx/model.onnx" in message and "ml/Makefile, which 'make weights' runs" in message
    assert _da520(tmp_path, "FROM python:3.12-slim\nCOPY . /app\nRUN make -C ml\n") == []
    assert _da520(tmp_path, "FROM python:3.12-slim\nCOPY . /app\nRUN make weights\n") == []  # no ./Makefile


def test_a_script_a_recipe_runs_is_read(tmp_path):
    (tmp_path / "Makefile").write_text("download-models:\n\tbash scripts/get.sh models\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "get.sh").write_text("#!/bin/sh\nhuggingface-cli download BAAI/bge-m3 --local-dir $1\n")
    (message,) = _da520(tmp_path, "FROM python:3.12-slim\nRUN make download-models\n")
    assert "scripts/get.sh, which 'make download-models' runs" in message


def test_sh_c_strings_are_the_commands_they_hold():
    text = "FROM python:3.12-slim\nRUN bash -c 'wget -q https://example.com/models/sam_vit_h.pth -O /m.pth'\n"
    assert len([f for f in dockaudit.lint(text, select=["DA520"]) if f.rule == "DA520"]) == 1
    text = "FROM python:3.12-slim\nRUN sh -c \"curl -LO https://example.com/sam_vit_h.pth\"\n"
    assert len([f for f in dockaudit.lint(text, select=["DA520"]) if f.rule == "DA520"]) == 1


def test_a_clone_of_a_hub_model_repository_is_a_download():
    def fired(run: str) -> int:
        findings = dockaudit.lint(f"FROM python:3.12-slim\nRUN {run}\n", select=["DA520"])
        return len([f for f in findings if f.rule == "DA520"])

    assert fired("git lfs install && git clone --depth 1 https://huggingface.co/ufal/robeczech-base /models/r") == 1
    assert fired("git clone https://huggingface.co/spaces/org/demo /app") == 0  # a Space is an app
    assert fired("git clone https://huggingface.co/datasets/org/data /data") == 0
    assert fired("GIT_LFS_SKIP_SMUDGE=1 git clone https://huggingface.co/org/model /m") == 0


def test_make_command_lines():
    from dockaudit_rules.da52a_gpu_build_steps import _make_goals

    assert _make_goals(["make", "-C", "ml", "-j", "weights", "MODEL=x"]) == ("ml/", None, ["weights"])
    assert _make_goals(["make", "-j4", "-Cml/", "--file=build.mk", "a", "b"]) == ("ml/", "build.mk", ["a", "b"])
    assert _make_goals(["make", "--jobs", "8", "-f", "Makefile.models"]) == ("", "Makefile.models", [])
