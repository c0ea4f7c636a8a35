// Admin: the server settings (GET|PUT /settings), with the API's validation errors next to the
// field. Only changed keys are sent.
import {h, statusLine} from '../../dom.js';
import {has, t} from '../../i18n.js';
import {adminPage, jsonForm, settingsForm} from './layout.js';

const NUMBER_TYPES = ['fixed_line', 'mobile', 'fixed_line_or_mobile', 'toll_free', 'premium_rate',
  'shared_cost', 'voip', 'personal_number', 'pager', 'uan', 'voicemail', 'unknown'];

export function render() {
  const groups = [
    ['settings.lines', [
      {key: 'total_lines', type: 'number', min: 1, max: 10000},
      {key: 'reserved_inbound_lines', type: 'number', min: 0},
    ]],
    ['settings.numbers', [
      {key: 'country_code'}, {key: 'area_code'}, {key: 'base_number'},
      {key: 'outside_line_prefix'}, {key: 'international_prefix'}, {key: 'national_prefix'},
    ]],
    ['settings.sending', [
      {key: 'send_attempts', type: 'number', min: 1, max: 100},
      {key: 'cover_page_default', type: 'bool'},
      {key: 'cover_language', type: 'select', options: [['de+en', 'Deutsch + English'],
        ['de', 'Deutsch'], ['en', 'English']]},
      {key: 'mail_to_fax_mode', type: 'select', options: [['attachments', null],
        ['body_and_attachments', null]]},
      {key: 'ocr_received', type: 'bool'},
    ]],
    ['settings.policy', [
      {key: 'allowed_destinations', type: 'list'},
      {key: 'blocked_number_types', type: 'checks', options: NUMBER_TYPES.map((n) => [n, null])},
      {key: 'blocked_prefixes', type: 'list'},
      {key: 'daily_page_limit', type: 'number', min: 0},
    ]],
    ['settings.print', [
      {key: 'print_to_fax_mode', type: 'select', options: [['fields_then_client', null],
        ['fields', null], ['client', null]]},
      {key: 'print_hold_hours', type: 'number', min: 1, max: 2160},
      {key: 'print_field_patterns', type: 'lines'},
    ]],
    ['settings.retention', [
      {key: 'retention_days', type: 'number', min: 0},
      {key: 'cleanup_schedule'},
    ]],
  ];
  for (const [, specs] of groups) {
    for (const s of specs) {
      s.label = t(`setting.${s.key}`);
      s.hint = has(`setting.${s.key}.hint`) ? t(`setting.${s.key}.hint`) : undefined;
      if (s.options) s.options = s.options.map(([v, l]) => [v, l || t(`opt.${v}`)]);
    }
  }
  const form = jsonForm(groups.flatMap(([, specs]) => specs));
  const status = statusLine();
  const save = h('button', {type: 'submit', class: 'primary'}, t('common.save'));
  const fieldsets = [];
  let i = 0;
  for (const [title, specs] of groups) {
    fieldsets.push(h('fieldset', {class: 'group'}, h('legend', null, t(title)),
      form.el.slice(i, i + specs.length)));
    i += specs.length;
  }
  const el = h('form', {class: 'card settings', novalidate: true, 'aria-labelledby': 'settings-title'},
    fieldsets, h('div', {class: 'actions sticky'}, save, status));
  settingsForm(el, form, save, status);
  return adminPage('settings', h('h1', {id: 'settings-title'}, t('admin.settings')), el);
}
