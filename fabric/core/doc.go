// Package core is what the fabric's platform servers share beneath their APIs: the
// credential checks, ids and JSON answers of their handlers, and the Invoker, which runs
// one call on a pooled function instance (cold start, injected faults, the run, the
// release, the timings) through a Runtime that knows how to start an instance and hand
// it one request. The platform packages (openwhisk, gcf, openfaas) keep only their APIs:
// routes, request and response shapes, and each platform's own semantics.
package core
