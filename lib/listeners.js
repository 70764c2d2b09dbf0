'use strict';

/**
 * A listener table for an EventEmitter's `_events`. Node creates it as
 * `{ __proto__: null }`, which V8 keeps in dictionary mode (about 300 bytes
 * for a few listeners); instances of this constructor have a null
 * prototype chain too (nothing is inherited) but stay in fast mode and
 * share one layout. Used by the per-connection objects, which are many.
 *
 * @constructor
 */
function Listeners() {}
Listeners.prototype = Object.create(null);

module.exports = Listeners;
