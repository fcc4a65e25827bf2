{{/* Chart name, cut to 63 characters (a label value). */}}
{{- define "lathe.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name prefix of every resource: fullnameOverride, else the release name when it contains the
chart name, else "<release>-<chart>". Cut to 40 characters so that "-operator-leader-election"
still fits a 63-character name.
*/}}
{{- define "lathe.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lathe.operatorName" -}}
{{- printf "%s-operator" (include "lathe.fullname" .) }}
{{- end }}

{{- define "lathe.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "lathe.labels" -}}
helm.sh/chart: {{ include "lathe.chart" . }}
app.kubernetes.io/name: {{ include "lathe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lathe
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of the operator pods (immutable once installed: keep them minimal). */}}
{{- define "lathe.operatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "lathe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "lathe.operatorLabels" -}}
{{ include "lathe.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "lathe.operatorServiceAccountName" -}}
{{- default (include "lathe.operatorName" .) .Values.operator.serviceAccount.name }}
{{- end }}

{{- define "lathe.leaseName" -}}
{{- default (include "lathe.operatorName" .) .Values.operator.leaderElection.leaseName }}
{{- end }}

{{/* "<registry>/<repository>[:<tag>][@<digest>]"; args: (dict "img" <image values> "root" $). */}}
{{- define "lathe.imageRef" -}}
{{- $img := .img }}
{{- $registry := default .root.Values.image.registry $img.registry | trimSuffix "/" }}
{{- $tag := default .root.Chart.AppVersion $img.tag | toString }}
{{- $ref := printf "%s/%s" $registry $img.repository }}
{{- if $img.digest }}
{{- printf "%s:%s@%s" $ref $tag $img.digest }}
{{- else }}
{{- printf "%s:%s" $ref $tag }}
{{- end }}
{{- end }}

{{/*
The namespaces that get the trainer and inference ServiceAccounts: trainingNamespaces plus every
namespace named in a roleArnByNamespace map, sorted and without duplicates. Output: a YAML list.
*/}}
{{- define "lathe.trainingNamespaces" -}}
{{- $ns := list }}
{{- range .Values.trainingNamespaces }}{{ $ns = append $ns . }}{{ end }}
{{- range $k, $_ := .Values.trainer.serviceAccount.roleArnByNamespace }}{{ $ns = append $ns $k }}{{ end }}
{{- range $k, $_ := .Values.inference.serviceAccount.roleArnByNamespace }}{{ $ns = append $ns $k }}{{ end }}
{{- if .Values.watchNamespace }}{{ $ns = append $ns .Values.watchNamespace }}{{ end }}
{{- toYaml (dict "namespaces" ($ns | uniq | sortAlpha)) }}
{{- end }}

{{/*
Kueue support on or off ("true"/"false"): kueue.enabled, or with "auto" whether the cluster serves
Kueue's v1beta2 API when the chart is rendered (helm install/upgrade, ArgoCD; `helm template` alone
sees no cluster, so "auto" is off there).
*/}}
{{- define "lathe.kueue" -}}
{{- $v := toString .Values.kueue.enabled -}}
{{- if eq $v "auto" -}}
{{- .Capabilities.APIVersions.Has "kueue.x-k8s.io/v1beta2" | toString -}}
{{- else -}}
{{- eq $v "true" | toString -}}
{{- end -}}
{{- end -}}
