"""The FedProx paper's multinomial logistic regression in numpy as a FedKeeper client
for synthetic data: an OpenFaaS python3-http handler.

The template imports this file as function.handler, so the SDK, which FedKeeper puts
beside it, is imported relatively.
"""

from .fedkeeper import serving
from .fedkeeper.mclr import train

handle = serving.openfaas(train)
