"""The FedProx paper's multinomial logistic regression in numpy as a FedKeeper client
for synthetic data: a Cloud Functions HTTP function (entry point fl_client)."""

from fedkeeper import serving
from fedkeeper.mclr import train

fl_client = serving.cloud_function(train)
