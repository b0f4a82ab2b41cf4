;;; eglot_hover.el --- hovers a Go function through Eglot and am-lsp  -*- lexical-binding: t -*-
;;
;; emacs --batch -l eglot_hover.el, with AM_SNIPPET (the Eglot set-up of OTHER_CLIENTS.md),
;; AM_FILE, AM_LINE and AM_COL (0-based): opens the file in go-mode, starts Eglot as
;; eglot-ensure would, hovers the position until the card carries numbers and prints the card.

(setq native-comp-enable-subr-trampolines nil ; Emacs 29+
      comp-enable-subr-trampolines nil)       ; Emacs 28
(require 'package)
(package-initialize)
(require 'eglot)
(require 'go-mode)

(load (getenv "AM_SNIPPET") nil t)
(find-file (getenv "AM_FILE"))
(go-mode)
(goto-char (point-min))
(forward-line (string-to-number (getenv "AM_LINE")))
(forward-char (string-to-number (getenv "AM_COL")))
(apply #'eglot (eglot--guess-contact))
(let ((server (or (eglot-current-server) (error "Eglot did not start a server")))
      (card "")
      (tries 0))
  (while (and (< tries 100) (not (string-match-p "req/s" card)))
    (let* ((res (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams)))
           (contents (plist-get res :contents)))
      (setq card (or (if (stringp contents) contents (plist-get contents :value)) "")))
    (setq tries (1+ tries))
    (unless (string-match-p "req/s" card)
      (sleep-for 0.2)))
  (princ card)
  (message "hover tries: %d" tries)
  ;; Eglot 1.9 gives the shutdown request 1.5 s; a slow answer must not fail the check.
  (condition-case err
      (eglot-shutdown server)
    (error (message "eglot-shutdown: %S" err))))

;;; eglot_hover.el ends here
