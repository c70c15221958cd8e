// The per-request store that an isomorphic app fills on the server before
// rendering (what a redux store holds in beidou's set-up): here the offers
// of one route, about 1.2 MB of plain JS objects on the V8 heap.
'use strict';

const CITIES = ['Hangzhou', 'Shanghai', 'Beijing', 'Shenzhen', 'Guangzhou', 'Chengdu', 'Wuhan', 'Xian'];
const OFFERS = 8192; /* about 150 bytes each on node 20's heap */

function createStore(requestId) {
  const route = { from: CITIES[requestId % 8], to: CITIES[(requestId * 3 + 1) % 8] };
  const offers = [];
  for (let i = 0; i < OFFERS; i++) {
    offers.push({
      id: i,
      carrier: `carrier-${requestId}-${i}`,
      price: 12.5 + ((i * 7) % 97) * 0.25,
      days: 1 + (i % 5),
    });
  }
  offers.sort((a, b) => a.price - b.price);
  return { requestId, route, offers };
}

module.exports = { createStore };
