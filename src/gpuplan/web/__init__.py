"""The web planner (``gpuplan serve``): a FastAPI app, its page, script and style sheet."""
