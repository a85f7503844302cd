from shopmesh.kit.migrations import run_env
from shopmesh.products.repository import Base

run_env(Base.metadata)
