"""The FedProx paper's multinomial logistic regression in numpy as a FedKeeper client
for synthetic data: an OpenWhisk action (main(args) -> dict)."""

from fedkeeper import serving
from fedkeeper.mclr import train

main = serving.openwhisk(train)
