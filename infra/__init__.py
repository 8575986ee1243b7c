"""CDK constructs of the Rostering Upload API: auth, storage, api, importer, monitoring; the stack composes them."""
