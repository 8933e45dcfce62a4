// PostGraphile 5 declares Node 22 and calls Promise.withResolvers (Node 22+); on Node 20 this is all it misses.
if (!Promise.withResolvers) Promise.withResolvers = function () { let resolve, reject; const promise = new this((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };
