"""GET /api/v1/health/: liveness plus database reachability."""

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tickerwatch import __version__
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import DATABASE_RETRY_AFTER_SECONDS, RETRY_AFTER, create_app, lambda_handler

get_settings()


class HealthOut(BaseModel):
    status: str
    database: str
    version: str


app = create_app("tickerwatch health")


@app.get("/api/v1/health/", response_model=HealthOut, responses={503: {"model": HealthOut, "headers": RETRY_AFTER}})
def health() -> JSONResponse:
    reachable = get_database().ping()
    body = HealthOut(
        status="ok" if reachable else "degraded",
        database="reachable" if reachable else "unreachable",
        version=__version__,
    )
    if reachable:
        return JSONResponse(body.model_dump())
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


handler = lambda_handler(app)
