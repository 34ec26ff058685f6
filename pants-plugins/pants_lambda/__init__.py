"""pants-lambda: AWS Lambda functions and layers as byte-reproducible ZIPs, for Pants 2.17."""
