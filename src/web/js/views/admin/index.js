// The admin console's pages (admins only; the API answers 403 to anyone else anyway).
import * as settings from './settings.js';
import * as users from './users.js';
import * as devices from './devices.js';
import * as trunks from './trunks.js';
import * as mail from './mail.js';
import * as lines from './lines.js';
import * as cleanup from './cleanup.js';
import * as outbox from './outbox.js';
import * as audit from './audit.js';

const page = (name, view) => ({path: new RegExp(`^/admin/${name}$`), view, sub: name});

export const adminRoutes = [
  {path: /^\/admin\/?$/, to: '/admin/settings'},
  page('settings', settings),
  page('users', users),
  page('devices', devices),
  page('trunks', trunks),
  page('mail', mail),
  page('lines', lines),
  page('cleanup', cleanup),
  page('outbox', outbox),
  page('audit', audit),
];
