"""Whether an image is a service: what DA024 (no HEALTHCHECK) and DA101 (runs as root) ask of a stage."""

from __future__ import annotations

import re

from dockaudit.syntax.stages import Stage

SERVER_WORDS = re.compile(
    r"\b(?:uvicorn|gunicorn|flask|fastapi|nginx|httpd|serve|server|streamlit|gradio|vllm|tritonserver|torchserve|node)\b"
)


def is_service_image(stage: Stage) -> bool:
    """The image the stage builds (its ancestry included) exposes a port or starts a server
    (uvicorn, gunicorn, vllm, tritonserver …): something long-running that others reach."""
    instructions = [i for s in stage.ancestry() for i in s.instructions]
    if any(i.name == "EXPOSE" for i in instructions):
        return True
    starts = [i for i in instructions if i.name in ("CMD", "ENTRYPOINT")]
    return any(SERVER_WORDS.search(" ".join(i.values)) for i in starts)
