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
      clients[key] = graphqlWs.createClient({
        url: wsUrl,
        lazy: true,
        connectionParams: { authorization: authorization },
        // A refused token (4403) stays refused: say so at once instead of retrying for a minute.
        shouldRetry: function (event) { return !(event && event.code === 4403); },
      });
    }
    return clients[key];
  }

  function isSubscription(params, documentAST) {
    if (!documentAST) return /^\s*subscription\b/.test(params.query);
    var ops = documentAST.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
    var op = ops.length === 1 ? ops[0] : ops.find(function (d) { return d.name && d.name.value === params.operationName; });
    return Boolean(op && op.operation === 'subscription');
  }

  var NOT_SIGNED_IN = config.demoUsers && config.demoUsers.length
    ? 'Not signed in: choose a user under "Demo login" at the top of the page, or open /graphql?token=<token>.'
    : 'Not signed in: open /graphql?token=<token>, or add {"Authorization": "Bearer <token>"} under Headers.';

  /** Without a token the gateway answers UNAUTHENTICATED: say how to get one instead. */
  function explainMissingToken(body, authorization) {
    var unauthenticated = body && body.errors && body.errors.some(function (e) { return e.extensions && e.extensions.code === 'UNAUTHENTICATED'; });
    if (authorization || !unauthenticated) return body;
    return { errors: [{ message: NOT_SIGNED_IN, extensions: { code: 'UNAUTHENTICATED' } }], data: null };
  }

  var MAX_EVENTS = 100;

  /**
   * A subscription's answer pane lists its events (the latest MAX_EVENTS, oldest first)
   * instead of showing only the latest; a refused or broken socket is an error result,
   * not a stack trace.
   */
  async function* eventList(iterator, authorization) {
    var events = [];
    try {
      for await (var result of iterator) {
        events.push(result);
        if (events.length > MAX_EVENTS) events.shift();
        yield { events: events.slice() };
      }
    } catch (err) {
      var message = err && err.code === 4403
        ? 'The gateway refused the token (expired or invalid): choose a user under "Demo login", or use a fresh token.'
        : (err && err.reason) || (err && err.message) || 'The subscription was closed by the gateway' + (err && err.code ? ' (' + err.code + ')' : '');
      yield { events: events.slice(), errors: [{ message: message }] };
    }
  }

  function fetcher(params, opts) {
    var headers = (opts && opts.headers) || {};
    var authorization = authorizationOf(headers);
    if (isSubscription(params, opts && opts.documentAST)) {
      showIdentity(authorization);
      // The gateway refuses a socket without a token: no need to open one to learn that.
      if (!authorization) return Promise.resolve({ errors: [{ message: NOT_SIGNED_IN, extensions: { code: 'UNAUTHENTICATED' } }] });
      return eventList(
        wsClient(authorization).iterate({
          query: params.query,
          variables: params.variables,
          operationName: params.operationName,
        }),
        authorization,
      );
    }
    var requestHeaders = Object.assign({ 'content-type': 'application/json', accept: 'application/json' }, headers);
    if (authorization) requestHeaders.authorization = authorization;
    for (var key in headers) if (key !== 'authorization' && key.toLowerCase() === 'authorization') delete requestHeaders[key];
    if (params.operationName !== 'IntrospectionQuery') showIdentity(authorization);
    return fetch(httpUrl, { method: 'POST', headers: requestHeaders, body: JSON.stringify(params) })
      .then(function (res) { return res.json(); })
      .then(function (body) { return explainMissingToken(body, authorization); });
  }

  /**
   * Who the gateway takes you for, in the page's header bar, so every tab shows it: the
   * token of the last operation run (a tab's own Authorization header, else the page's).
   */
  var identity = document.createElement('span');
  identity.id = 'acting-as';
  identity.setAttribute('aria-live', 'polite');
  identity.style.marginLeft = 'auto';
  document.querySelector('header').appendChild(identity);
  var shownFor;
  function showIdentity(authorization) {
    if (shownFor === (authorization || '')) return;
    shownFor = authorization || '';
    if (!authorization) {
      identity.textContent = NOT_SIGNED_IN;
      return;
    }
    identity.textContent = 'Checking the token…';
    fetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: authorization },
      body: JSON.stringify({ query: '{ viewer { userId roles partner { name } } }' }),
    })
      .then(function (res) { return res.json(); })
      .then(function (body) {
        if (shownFor !== authorization) return;
        var viewer = body.data && body.data.viewer;
        identity.textContent = viewer
          ? 'Acting as ' + viewer.userId + ' · ' + viewer.roles.join(', ') + (viewer.partner ? ' @ ' + viewer.partner.name : '')
          : 'Token refused: ' + ((body.errors && body.errors[0] && body.errors[0].message) || 'unknown error');
      })
      .catch(function () {
        if (shownFor === authorization) identity.textContent = 'The gateway does not answer';
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
          showIdentity(fallbackAuthorization);
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
  showIdentity(fallbackAuthorization);
})();
