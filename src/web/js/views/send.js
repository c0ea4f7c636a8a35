// Send a fax: number (shown as it will be dialled while typing), device, documents in order
// (drag and drop or file picker), cover page, a preview of the exact fax pages, then the job.
import * as api from '../api.js';
import {field, h, replace, select, statusLine} from '../dom.js';
import {t} from '../i18n.js';
import {numberField} from '../number_field.js';

const ACCEPT = '.pdf,.tif,.tiff,.png,.jpg,.jpeg,.txt,.ps,.eps,.odt,.docx,.doc,.rtf,.html,.htm,' +
  'application/pdf,image/tiff,image/png,image/jpeg,text/plain,application/postscript';

function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function render(app) {
  const files = [];  // File objects, in the order they are faxed
  let preview = null;  // {id, pages, key} of the current inputs

  const {wrap: toField, input: to} = numberField();

  const devices = app.devices;
  const own = devices.find((d) => d.kind === 'user' && d.owner === app.user.id) || devices[0];
  const device = select(devices.map((d) => [d.id, `${d.name} (${d.extension})`]),
    own ? own.id : '', {});
  const deviceField = field(t('send.device'), device, {name: 'device'});

  const picker = h('input', {type: 'file', multiple: true, accept: ACCEPT, class: 'sr-only',
    id: 'send-files'});
  const fileList = h('ol', {class: 'files', 'aria-label': t('send.filesList')});
  const filesError = h('p', {class: 'field-error', role: 'alert', hidden: true});
  const drop = h('div', {class: 'dropzone', role: 'group', 'aria-labelledby': 'files-label'},
    h('p', {id: 'files-label', class: 'label'}, t('send.documents')),
    h('p', null, t('send.dropHint')),
    h('label', {class: 'button', for: 'send-files'}, t('send.choose')), picker,
    fileList, filesError);

  const cover = h('input', {type: 'checkbox'});
  const coverField = h('div', {class: 'field check'}, h('label', null, cover, ' ', t('send.cover')));
  const subject = h('input', {type: 'text', maxlength: 200});
  const comment = h('textarea', {rows: 4, maxlength: 2000});
  const subjectField = field(t('send.subject'), subject, {name: 'subject'});
  const commentField = field(t('send.comment'), comment, {name: 'comment'});
  const coverParts = h('div', {class: 'cover-parts', hidden: true}, subjectField, commentField);
  cover.addEventListener('change', () => {
    coverParts.hidden = !cover.checked;
    invalidate();
  });

  const previewBtn = h('button', {type: 'button'}, t('send.preview'));
  const sendBtn = h('button', {type: 'submit', class: 'primary'}, t('send.submit'));
  const status = statusLine();
  const previewBox = h('section', {class: 'preview', 'aria-labelledby': 'preview-title',
    hidden: true});

  // What a preview shows: the documents, the device, and a cover page with its texts and the
  // number (the cover page names it).
  const key = () => JSON.stringify([files.map((f) => [f.name, f.size, f.lastModified]),
    cover.checked, subject.value, comment.value, device.value, cover.checked ? to.value.trim() : '']);
  function invalidate() {
    if (preview && preview.key !== key()) {
      preview = null;
      previewBox.hidden = true;
    }
  }
  for (const c of [subject, comment, device, to]) c.addEventListener('input', invalidate);

  const drawFiles = () => {
    const move = (i, d) => {
      const [f] = files.splice(i, 1);
      files.splice(i + d, 0, f);
      drawFiles();
      invalidate();
    };
    replace(fileList, files.map((f, i) => h('li', null,
      h('span', {class: 'file-name'}, f.name), h('span', {class: 'file-size'}, humanSize(f.size)),
      h('span', {class: 'file-tools'},
        h('button', {type: 'button', class: 'icon', disabled: i === 0,
          'aria-label': t('send.up', {name: f.name}), onclick: () => move(i, -1)}, '↑'),
        h('button', {type: 'button', class: 'icon', disabled: i === files.length - 1,
          'aria-label': t('send.down', {name: f.name}), onclick: () => move(i, 1)}, '↓'),
        h('button', {type: 'button', class: 'icon',
          'aria-label': t('send.remove', {name: f.name}),
          onclick: () => { files.splice(i, 1); drawFiles(); invalidate(); }}, '×')))));
    filesError.hidden = true;
  };
  const addFiles = (list) => {
    for (const f of list) files.push(f);
    drawFiles();
    invalidate();
  };
  picker.addEventListener('change', () => { addFiles(picker.files); picker.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer && e.dataTransfer.files) addFiles(e.dataTransfer.files);
  });

  const formData = (withFiles) => {
    const fd = new FormData();
    if (to.value.trim()) fd.append('to', to.value.trim());
    if (device.value) fd.append('device', device.value);
    fd.append('cover', cover.checked ? 'true' : 'false');
    if (cover.checked && subject.value) fd.append('subject', subject.value);
    if (cover.checked && comment.value) fd.append('comment', comment.value);
    if (withFiles) for (const f of files) fd.append('file', f, f.name);
    return fd;
  };

  // Shows an API error next to the field it is about.
  const showError = (e) => {
    const code = e.code || '';
    if (['invalid_number', 'destination_not_allowed', 'missing_number'].includes(code) ||
        /\bto\b/.test(e.details && e.details.field || '')) {
      toField.setError(e.message);
      to.focus();
    } else if (['unsupported_type', 'empty_file', 'corrupt_file', 'no_file', 'conversion_failed',
      'too_many_pages', 'too_many_files', 'payload_too_large'].includes(code)) {
      filesError.textContent = e.message;
      filesError.hidden = false;
    } else if (code === 'unknown_device') {
      deviceField.setError(e.message);
    }
    status.show(e.message, 'error');
  };

  const needFiles = () => {
    if (files.length === 0) {
      filesError.textContent = t('send.noFiles');
      filesError.hidden = false;
      status.show(t('send.noFiles'), 'error');
      return false;
    }
    return true;
  };

  previewBtn.addEventListener('click', async () => {
    if (!needFiles()) return;
    previewBtn.disabled = true;
    status.show(t('send.converting'));
    try {
      const out = await api.post('/faxes/preview', formData(true));
      preview = {id: out.id, pages: out.pages, key: key()};
      const imgs = [];
      for (let i = 1; i <= out.pages; i++) {
        imgs.push(h('figure', null, h('img', {src: api.url(`/previews/${encodeURIComponent(out.id)}/pages/${i}.png`),
          alt: t('fax.pageAlt', {n: i, total: out.pages}), width: 860, height: 1100, loading: 'lazy'}),
        h('figcaption', null, t('fax.pageAlt', {n: i, total: out.pages}))));
      }
      replace(previewBox, h('h2', {id: 'preview-title'}, t('send.previewTitle', {n: out.pages})),
        h('div', {class: 'pages'}, imgs));
      previewBox.hidden = false;
      status.show(t('send.previewReady', {n: out.pages}), 'ok');
    } catch (e) {
      showError(e);
    } finally {
      previewBtn.disabled = false;
    }
  });

  const form = h('form', {class: 'send card', 'aria-labelledby': 'send-title', novalidate: true},
    h('h1', {id: 'send-title'}, t('send.title')),
    toField, deviceField, drop, coverField, coverParts,
    h('div', {class: 'actions'}, previewBtn, sendBtn), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    toField.setError('');
    if (!to.value.trim()) {
      toField.setError(t('send.noNumber'));
      to.focus();
      return;
    }
    if (!needFiles()) return;
    sendBtn.disabled = true;
    status.show(t('send.sending'));
    try {
      let fd;
      if (preview && preview.key === key()) {
        // The previewed pages are sent as they are, cover page included.
        fd = new FormData();
        fd.append('to', to.value.trim());
        if (device.value) fd.append('device', device.value);
        fd.append('preview', preview.id);
      } else {
        fd = formData(true);
      }
      let fax;
      try {
        fax = await api.post('/faxes', fd);
      } catch (err) {
        // The preview expired (30 min) or no longer fits: send the documents themselves.
        if (!fd.has('preview') || !(err.status === 404 || err.code === 'invalid_request')) throw err;
        preview = null;
        previewBox.hidden = true;
        fax = await api.post('/faxes', formData(true));
      }
      app.navigate(`/faxes/${fax.id}`);
    } catch (err) {
      showError(err);
    } finally {
      sendBtn.disabled = false;
    }
  });
  // A file dropped beside the zone would make the browser open it and leave the form.
  const keep = (e) => {
    if (e.dataTransfer && [...(e.dataTransfer.types || [])].includes('Files')) e.preventDefault();
  };
  document.addEventListener('dragover', keep);
  document.addEventListener('drop', keep);
  const dispose = () => {
    document.removeEventListener('dragover', keep);
    document.removeEventListener('drop', keep);
  };
  if (devices.length === 0) {
    dispose();
    return h('section', {class: 'page'}, h('h1', null, t('send.title')),
      h('p', {role: 'alert'}, t('send.noDevice')));
  }
  return {el: h('section', {class: 'page page-send'}, form, previewBox), dispose};
}
