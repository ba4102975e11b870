{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "sipcred-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed by the chart name unless it contains it. */}}
{{- define "sipcred-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sipcred-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels on every object the chart renders. */}}
{{- define "sipcred-operator.labels" -}}
helm.sh/chart: {{ include "sipcred-operator.chart" . }}
{{ include "sipcred-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: sipcred-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the operator's pods; never change them in an upgrade. */}}
{{- define "sipcred-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sipcred-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sipcred-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sipcred-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sipcred-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* "true" when the operator runs with --leader-elect: asked for, or more than one replica. */}}
{{- define "sipcred-operator.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) }}true{{ end }}
{{- end }}

{{/*
RBAC rules: the single place that says what the operator may do. Every Role and
ClusterRole in templates/rbac.yaml includes one of these; tests/test_rbac.py holds the
expected rules independently and compares.
*/}}

{{/* Namespaced kinds, the Secrets it writes and reads, and Events. RBAC cannot limit
a list or watch by label: the operator lists and watches only Secrets labelled
app.kubernetes.io/managed-by=sipcred-operator (the ones it writes) and GETs the
Secrets a spec references by name (provider keys, passwordSecretRef). */}}
{{- define "sipcred-operator.rules.namespaced" -}}
- apiGroups: ["sipcred.io"]
  resources: ["sipconnections", "telephonycredentials", "trunkcredentials"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["sipcred.io"]
  resources: ["sipproviders"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["sipcred.io"]
  resources: ["sipconnections/status", "telephonycredentials/status", "trunkcredentials/status", "sipproviders/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* The cluster-scoped kind, and Namespaces: their labels decide which namespaces
may use a ClusterSipProvider (spec.conditions), read with a GET and followed with a
metadata-only watch. */}}
{{- define "sipcred-operator.rules.cluster" -}}
- apiGroups: ["sipcred.io"]
  resources: ["clustersipproviders"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["sipcred.io"]
  resources: ["clustersipproviders/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get", "list", "watch"]
{{- end }}

{{/* Secrets referenced by ClusterSipProviders, when only some namespaces are watched. */}}
{{- define "sipcred-operator.rules.providerSecrets" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}

{{/* The leader-election Lease, in the release namespace only. */}}
{{- define "sipcred-operator.rules.leaderElection" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["create"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  resourceNames: ["sipcred-operator"]
  verbs: ["get", "patch"]
{{- end }}
