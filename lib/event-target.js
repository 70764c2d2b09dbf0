'use strict';

const { kForOnEventAttribute, kListener } = require('./constants');

// Sets an event's target from outside the class (private fields are only
// reachable from inside it; the static block below hands this out).
let setTarget;

/**
 * A minimal DOM-like event.
 */
class Event {
  #type;
  #target = null;

  static {
    setTarget = (event, target) => {
      event.#target = target;
    };
  }

  /**
   * @param {String} type The event type
   */
  constructor(type) {
    this.#type = type;
  }

  /** @type {*} */
  get target() {
    return this.#target;
  }

  /** @type {String} */
  get type() {
    return this.#type;
  }
}

/**
 * The event of a `close`.
 */
class CloseEvent extends Event {
  #code;
  #reason;
  #wasClean;

  /**
   * @param {String} type The event type
   * @param {Object} [init] `{ code = 0, reason = '', wasClean = false }`
   */
  constructor(type, init = {}) {
    super(type);
    this.#code = init.code === undefined ? 0 : init.code;
    this.#reason = init.reason === undefined ? '' : init.reason;
    this.#wasClean = init.wasClean === undefined ? false : init.wasClean;
  }

  /** @type {Number} */
  get code() {
    return this.#code;
  }

  /** @type {String} */
  get reason() {
    return this.#reason;
  }

  /** @type {Boolean} */
  get wasClean() {
    return this.#wasClean;
  }
}

/**
 * The event of an `error`.
 */
class ErrorEvent extends Event {
  #error;
  #message;

  /**
   * @param {String} type The event type
   * @param {Object} [init] `{ error = null, message = '' }`
   */
  constructor(type, init = {}) {
    super(type);
    this.#error = init.error === undefined ? null : init.error;
    this.#message = init.message === undefined ? '' : init.message;
  }

  /** @type {*} */
  get error() {
    return this.#error;
  }

  /** @type {String} */
  get message() {
    return this.#message;
  }
}

/**
 * The event of a `message`.
 */
class MessageEvent extends Event {
  #data;

  /**
   * @param {String} type The event type
   * @param {Object} [init] `{ data = null }`
   */
  constructor(type, init = {}) {
    super(type);
    this.#data = init.data === undefined ? null : init.data;
  }

  /** @type {*} */
  get data() {
    return this.#data;
  }
}

// Like the DOM's, the accessors are enumerable.
for (const [Class, names] of [
  [Event, ['target', 'type']],
  [CloseEvent, ['code', 'reason', 'wasClean']],
  [ErrorEvent, ['error', 'message']],
  [MessageEvent, ['data']]
]) {
  for (const name of names) {
    Object.defineProperty(Class.prototype, name, { enumerable: true });
  }
}

/**
 * Builds the Event a WebSocket listener receives, from the arguments of
 * the matching EventEmitter event.
 */
const EVENT_BUILDERS = {
  open: () => new Event('open'),
  message: (data, isBinary) =>
    new MessageEvent('message', { data: isBinary ? data : data.toString() }),
  close(code, reason) {
    return new CloseEvent('close', {
      code,
      reason: reason.toString(),
      wasClean: this._closeFrameReceived && this._closeFrameSent
    });
  },
  error: (error) => new ErrorEvent('error', { error, message: error.message })
};

/**
 * Calls a listener: a function (with the WebSocket as `this`) or an object
 * with a `handleEvent` method.
 *
 * @param {(Function|Object)} listener The listener
 * @param {*} target The WebSocket
 * @param {Event} event The event
 * @private
 */
function invoke(listener, target, event) {
  if (typeof listener === 'object' && listener.handleEvent) {
    listener.handleEvent(event);
  } else {
    listener.call(target, event);
  }
}

/**
 * The `addEventListener`/`removeEventListener` pair mixed into WebSocket,
 * on top of its EventEmitter methods.
 */
const EventTarget = {
  /**
   * Registers a listener for `open`, `message`, `close` or `error`; other
   * types are ignored, and so is a listener already registered.
   *
   * @param {String} type The event type
   * @param {(Function|Object)} handler The listener
   * @param {Object} [options] `{ once }`
   * @public
   */
  addEventListener(type, handler, options = {}) {
    const build = Object.prototype.hasOwnProperty.call(EVENT_BUILDERS, type)
      ? EVENT_BUILDERS[type]
      : undefined;

    if (build === undefined) return;

    const forAttribute = !!options[kForOnEventAttribute];

    if (
      !forAttribute &&
      this.listeners(type).some(
        (l) => l[kListener] === handler && !l[kForOnEventAttribute]
      )
    ) {
      return;
    }

    function wrapper(...args) {
      const event = build.apply(this, args);
      setTarget(event, this);
      invoke(handler, this, event);
    }

    wrapper[kForOnEventAttribute] = forAttribute;
    wrapper[kListener] = handler;

    if (options.once) this.once(type, wrapper);
    else this.on(type, wrapper);
  },

  /**
   * Removes a listener registered with `addEventListener()`.
   *
   * @param {String} type The event type
   * @param {(Function|Object)} handler The listener
   * @public
   */
  removeEventListener(type, handler) {
    const found = this.listeners(type).find(
      (l) => l[kListener] === handler && !l[kForOnEventAttribute]
    );

    if (found) this.removeListener(type, found);
  }
};

module.exports = {
  CloseEvent,
  ErrorEvent,
  Event,
  EventTarget,
  MessageEvent
};
