"""The cold-start yardstick (cold_start.py): the smallest FastAPI app that answers /healthz."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
