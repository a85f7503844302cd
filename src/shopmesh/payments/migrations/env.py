from shopmesh.kit.migrations import run_env
from shopmesh.payments.repository import Base

run_env(Base.metadata)
