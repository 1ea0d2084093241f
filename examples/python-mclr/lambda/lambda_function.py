"""The FedProx paper's multinomial logistic regression in numpy as a FedKeeper client
for synthetic data: an AWS Lambda python3.x handler (lambda_function.lambda_handler)."""

from fedkeeper import serving
from fedkeeper.mclr import train

lambda_handler = serving.aws_lambda(train)
