/* GraphiQL for consent-gateway: HTTP for queries and mutations, graphql-ws for
 * subscriptions, the bearer token taken from the Headers editor. Served by the
 * gateway itself (no CDN). */
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  var httpUrl = new URL(config.path, window.location.href).toString();
  var wsUrl = httpUrl.replace(/^http/, 'ws');
  var clients = {};
  // The token from ?token= (or the demo login) applies to every tab whose Headers name none.
  var fallbackAuthorization = config.token ? 'Bearer ' + config.token : undefined;

  function authorizationOf(headers) {
    if (headers) for (var key in headers) if (key.toLowerCase() === 'authorization') return headers[key];
    return fallbackAuthorization;
  }

  /** One graphql-ws client per token: connectionParams are fixed when a socket opens. */
  function wsClient(authorization) {
    var key = authorization || '';
    if (!clients[key]) {
      clients[key] = graphqlWs.createClient({ url: wsUrl, lazy: true, connectionParams: { authorization: authorization } });
    }
    return clients[key];
  }

  function isSubscription(params, documentAST) {
    if (!documentAST) return /^\s*subscription\b/.test(params.query);
    var ops = documentAST.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
    var op = ops.length === 1 ? ops[0] : ops.find(function (d) { return d.name && d.name.value === params.operationName; });
    return Boolean(op && op.operation === 'subscription');
  }

  function fetcher(params, opts) {
    var headers = (opts && opts.headers) || {};
    if (isSubscription(params, opts && opts.documentAST)) {
      return wsClient(authorizationOf(headers)).iterate({
        query: params.query,
        variables: params.variables,
        operationName: params.operationName,
      });
    }
    var requestHeaders = Object.assign({ 'content-type': 'application/json', accept: 'application/json' }, headers);
    var authorization = authorizationOf(headers);
    if (authorization) requestHeaders.authorization = authorization;
    for (var key in headers) if (key !== 'authorization' && key.toLowerCase() === 'authorization') delete requestHeaders[key];
    return fetch(httpUrl, { method: 'POST', headers: requestHeaders, body: JSON.stringify(params) }).then(function (res) {
      return res.json();
    });
  }

  var defaultHeaders = config.token ? JSON.stringify({ Authorization: 'Bearer ' + config.token }, null, 2) : undefined;

  function render(headers) {
    var props = {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: true,
      defaultTabs: config.tabs,
    };
    if (headers) props.headers = headers;
    else if (defaultHeaders) props.defaultHeaders = defaultHeaders;
    ReactDOM.render(React.createElement(GraphiQL, props), document.getElementById('graphiql'));
  }

  var login = document.getElementById('demo-login');
  if (login && config.demoUsers && config.demoUsers.length) {
    config.demoUsers.forEach(function (u) {
      var option = document.createElement('option');
      option.value = u.sub;
      option.textContent = u.label;
      login.appendChild(option);
    });
    login.addEventListener('change', function () {
      if (!login.value) return;
      fetch(config.demoTokenPath + '?sub=' + encodeURIComponent(login.value))
        .then(function (res) { return res.json(); })
        .then(function (body) {
          if (!body.token) return;
          fallbackAuthorization = 'Bearer ' + body.token;
          // Remount so the new token fills the Headers editor.
          localStorage.removeItem('graphiql:headers');
          ReactDOM.unmountComponentAtNode(document.getElementById('graphiql'));
          render(JSON.stringify({ Authorization: 'Bearer ' + body.token }, null, 2));
        });
    });
  } else if (login) {
    login.parentElement.style.display = 'none';
  }

  render(config.token ? defaultHeaders : undefined);
})();
