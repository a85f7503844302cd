from shopmesh.kit.migrations import run_env
from shopmesh.orders.repository.tables import Base

run_env(Base.metadata)
