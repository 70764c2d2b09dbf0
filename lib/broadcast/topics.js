'use strict';

//
// Topic subscriptions, after uWebSockets.js: a socket accepted by a
// WebSocketServer subscribes to named topics, and `server.publish(topic)`
// sends to every subscriber. The server keeps topic -> sockets, each socket
// topic names; both under symbols so that neither object shows new keys.
//

const { OPEN } = require('../ready-states');

const kServer = Symbol('wsrs-server');
const kTopics = Symbol('wsrs-topics');

/**
 * Records which server accepted a socket.
 *
 * @param {WebSocket} ws The server-side socket
 * @param {WebSocketServer} server The server
 * @public
 */
function attachToServer(ws, server) {
  ws[kServer] = server;
}

/**
 * Throws unless `topic` is a string.
 *
 * @param {*} topic The topic
 * @private
 */
function checkTopic(topic) {
  if (typeof topic !== 'string') {
    throw new TypeError('The topic must be a string');
  }
}

/**
 * The server a socket belongs to, for the topic methods.
 *
 * @param {WebSocket} ws The socket
 * @return {WebSocketServer}
 * @throws {Error} For a client socket
 * @private
 */
function serverOf(ws) {
  const server = ws[kServer];

  if (server === undefined) {
    throw new Error(
      'Topics are only available on sockets accepted by a WebSocketServer'
    );
  }

  return server;
}

/**
 * Subscribes a socket to a topic.
 *
 * @param {WebSocket} ws The socket
 * @param {String} topic The topic
 * @return {Boolean} `true` if newly subscribed; `false` if it already was,
 *     or if the socket is not open
 * @public
 */
function subscribe(ws, topic) {
  checkTopic(topic);

  const server = serverOf(ws);

  if (ws.readyState !== OPEN) return false;

  let own = ws[kTopics];

  if (own === undefined) {
    own = new Set();
    ws[kTopics] = own;
  } else if (own.has(topic)) {
    return false;
  }

  own.add(topic);

  let registry = server[kTopics];

  if (registry === undefined) {
    registry = new Map();
    server[kTopics] = registry;
  }

  let members = registry.get(topic);

  if (members === undefined) {
    members = new Set();
    registry.set(topic, members);
  }

  members.add(ws);
  if (server.backplane) server.backplane.track(topic, members.size);
  return true;
}

/**
 * Unsubscribes a socket from a topic.
 *
 * @param {WebSocket} ws The socket
 * @param {String} topic The topic
 * @return {Boolean} `true` if it was subscribed
 * @public
 */
function unsubscribe(ws, topic) {
  checkTopic(topic);

  const server = serverOf(ws);
  const own = ws[kTopics];

  if (own === undefined || !own.delete(topic)) return false;

  leave(server, ws, topic);
  return true;
}

/**
 * Removes `ws` from the members of `topic`, dropping the topic when it has
 * no member left.
 *
 * @param {WebSocketServer} server The server
 * @param {WebSocket} ws The socket
 * @param {String} topic The topic
 * @private
 */
function leave(server, ws, topic) {
  const registry = server[kTopics];
  const members = registry.get(topic);

  members.delete(ws);
  if (members.size === 0) registry.delete(topic);
  if (server.backplane) server.backplane.track(topic, members.size);
}

/**
 * Unsubscribes a closed socket from all its topics.
 *
 * @param {WebSocket} ws The socket
 * @public
 */
function leaveAll(ws) {
  const own = ws[kTopics];

  if (own === undefined || own.size === 0) return;

  const server = ws[kServer];

  for (const topic of own) leave(server, ws, topic);
  own.clear();
}

/**
 * Whether a socket is subscribed to a topic.
 *
 * @param {WebSocket} ws The socket
 * @param {String} topic The topic
 * @return {Boolean}
 * @public
 */
function isSubscribed(ws, topic) {
  checkTopic(topic);
  serverOf(ws);

  const own = ws[kTopics];

  return own !== undefined && own.has(topic);
}

/**
 * The topics a socket is subscribed to.
 *
 * @param {WebSocket} ws The socket
 * @return {String[]} A new array (empty for a client socket)
 * @public
 */
function topicsOf(ws) {
  const own = ws[kTopics];

  return own === undefined ? [] : Array.from(own);
}

/**
 * The sockets subscribed to a topic on a server.
 *
 * @param {WebSocketServer} server The server
 * @param {String} topic The topic
 * @return {(Set<WebSocket>|undefined)} The live set; do not change it
 * @public
 */
function membersOf(server, topic) {
  checkTopic(topic);

  const registry = server[kTopics];

  return registry === undefined ? undefined : registry.get(topic);
}

module.exports = {
  attachToServer,
  isSubscribed,
  leaveAll,
  membersOf,
  serverOf,
  subscribe,
  topicsOf,
  unsubscribe
};
