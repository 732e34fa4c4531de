from kit.migrate import run_env
from services.intake.adapters.orm import metadata

run_env(metadata, "intake")
